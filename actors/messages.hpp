#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/type_id.hpp>

#include "providers/chat.hpp"
#include "providers/resolution.hpp"
#include "storage/db_types.hpp"

namespace nyxgate::actors {

/// Delivers a storage reply to a non-actor caller (an HTTP session's coroutine). If it is
/// dropped without being called (the actor died), it reports `unavailable` so no caller hangs.
class db_sink_guard {
 public:
  explicit db_sink_guard(storage::db_callback fn) : fn_(std::move(fn)) {}
  db_sink_guard(const db_sink_guard&) = delete;
  db_sink_guard& operator=(const db_sink_guard&) = delete;
  ~db_sink_guard() {
    if (fn_) fn_(storage::db_reply::failure(storage::db_errc::unavailable, "storage actor gone"));
  }
  void deliver(storage::db_reply reply) {
    if (auto fn = std::move(fn_)) {
      fn_ = nullptr;
      fn(std::move(reply));
    }
  }

 private:
  storage::db_callback fn_;
};

using db_sink = std::shared_ptr<db_sink_guard>;

/// A reply to a non-actor caller, delivered once; `if_dropped` goes out instead when the
/// actor dies without answering, so no coroutine waits forever.
template <class T>
class reply_sink {
 public:
  reply_sink(std::function<void(T)> fn, T if_dropped)
      : fn_(std::move(fn)), if_dropped_(std::move(if_dropped)) {}
  reply_sink(const reply_sink&) = delete;
  reply_sink& operator=(const reply_sink&) = delete;
  ~reply_sink() {
    if (fn_) fn_(std::move(if_dropped_));
  }
  void deliver(T value) {
    if (auto fn = std::move(fn_)) {
      fn_ = nullptr;
      fn(std::move(value));
    }
  }

 private:
  std::function<void(T)> fn_;
  T if_dropped_;
};

/// What a caller asks a tenant actor: the first chain element for a user (empty: none), for
/// one provider (empty: the tenant's primary then fallback) or a model.
struct resolve_query {
  std::string user_id;
  std::string provider;
  std::string model;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resolve_query& x) {
  return f(caf::meta::type_name("nyxgate::actors::resolve_query"), x.user_id, x.provider, x.model);
}

/// SPEC §3 `resolveProvider`, without the secret.
struct resolve_answer {
  bool found = false;
  std::string provider;
  std::string model;
  std::string key_id;
  std::string hint;
  std::string scope;  ///< personal | tenant
  bool via_fallback = false;
  std::string error;  ///< set when the query itself is bad (unknown model) or loading failed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resolve_answer& x) {
  return f(caf::meta::type_name("nyxgate::actors::resolve_answer"), x.found, x.provider, x.model,
           x.key_id, x.hint, x.scope, x.via_fallback, x.error);
}

using resolve_sink = std::shared_ptr<reply_sink<resolve_answer>>;
/// Completion of a reload: empty string on success, else what failed.
using done_sink = std::shared_ptr<reply_sink<std::string>>;

/// A tenant's key set and defaults as loaded, secrets decrypted: in-process only, never
/// serialized, shared read-only between the actor and nobody else.
struct tenant_snapshot;
using tenant_snapshot_ptr = std::shared_ptr<const tenant_snapshot>;

/// A call's chain with its secrets, for the request actor of that call. In-process only: the
/// key records it points at live in `snapshot`, which it keeps alive.
struct chain_answer {
  tenant_snapshot_ptr snapshot;
  providers::chain chain;
  std::int64_t max_tokens = 16384;  ///< the tenant's default for requests without one
  std::string error;                ///< the tenant's keys could not be loaded
};
using chain_answer_ptr = std::shared_ptr<const chain_answer>;

/// Models callable by a user: "provider/model" ids.
using models_sink = std::shared_ptr<reply_sink<std::vector<std::string>>>;

/// What one upstream attempt reports to its request actor, in order. Produced on an I/O
/// thread (translation included), consumed by the request actor.
struct upstream_event {
  enum class kind : std::uint8_t {
    steps,      ///< stream steps (2xx stream)
    completed,  ///< the whole non-stream answer, translated
    failed,     ///< the attempt failed before delivering anything usable
    ended,      ///< a 2xx stream's body ended: `error` empty when it ended cleanly
  };
  std::uint32_t attempt = 0;
  kind what = kind::steps;
  std::vector<providers::stream_step> steps;
  std::int64_t content_bytes = 0;  ///< of `steps`, counted in the attempt's in_flight
  providers::chat_completion completion;
  providers::failure fail;
  std::string error;
};
using upstream_event_ptr = std::shared_ptr<upstream_event>;

}  // namespace nyxgate::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nyxgate::actors::chain_answer_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nyxgate::actors::models_sink)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nyxgate::actors::upstream_event_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nyxgate::actors::db_sink)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nyxgate::actors::resolve_sink)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nyxgate::actors::done_sink)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nyxgate::actors::tenant_snapshot_ptr)

CAF_BEGIN_TYPE_ID_BLOCK(nyxgate, caf::first_custom_type_id)

CAF_ADD_TYPE_ID(nyxgate, (nyxgate::storage::statement))
CAF_ADD_TYPE_ID(nyxgate, (nyxgate::storage::db_batch))
CAF_ADD_TYPE_ID(nyxgate, (nyxgate::storage::db_result))
CAF_ADD_TYPE_ID(nyxgate, (nyxgate::storage::db_reply))
CAF_ADD_TYPE_ID(nyxgate, (nyxgate::actors::resolve_query))
CAF_ADD_TYPE_ID(nyxgate, (nyxgate::actors::resolve_answer))

CAF_ADD_ATOM(nyxgate, nyxgate::actors, completed_atom, "completed")
CAF_ADD_ATOM(nyxgate, nyxgate::actors, link_up_atom, "link_up")
CAF_ADD_ATOM(nyxgate, nyxgate::actors, resolve_atom, "ng_resolve")
CAF_ADD_ATOM(nyxgate, nyxgate::actors, reload_atom, "ng_reload")
CAF_ADD_ATOM(nyxgate, nyxgate::actors, loaded_atom, "ng_loaded")
CAF_ADD_ATOM(nyxgate, nyxgate::actors, ping_atom, "ng_ping")
CAF_ADD_ATOM(nyxgate, nyxgate::actors, chain_atom, "ng_chain")
CAF_ADD_ATOM(nyxgate, nyxgate::actors, key_health_atom, "ng_khealth")
CAF_ADD_ATOM(nyxgate, nyxgate::actors, models_atom, "ng_models")
CAF_ADD_ATOM(nyxgate, nyxgate::actors, attempt_atom, "ng_attempt")
CAF_ADD_ATOM(nyxgate, nyxgate::actors, upstream_atom, "ng_up")
CAF_ADD_ATOM(nyxgate, nyxgate::actors, retry_atom, "ng_retry")
CAF_ADD_ATOM(nyxgate, nyxgate::actors, gone_atom, "ng_gone")
CAF_ADD_ATOM(nyxgate, nyxgate::actors, drained_atom, "ng_drained")

CAF_END_TYPE_ID_BLOCK(nyxgate)
