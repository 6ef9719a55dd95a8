#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/type_id.hpp>

#include "actors/call_sink.hpp"
#include "providers/chat.hpp"
#include "providers/key_status.hpp"
#include "providers/resolution.hpp"
#include "storage/type_ids.hpp"

namespace nyxgate::actors {

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
};

/// Why a tenant actor answers a request with an error (category `tenant`).
enum class tenant_errc : std::uint8_t {
  keys_unavailable = 1,  ///< the tenant's keys could not be loaded
};

/// The error a tenant actor answers with; `what` says what failed (for logs).
inline caf::error make_error(tenant_errc code, std::string what) {
  return {static_cast<std::uint8_t>(code), caf::atom("tenant"), caf::make_message(std::move(what))};
}
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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nyxgate::actors::resolve_sink)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nyxgate::actors::done_sink)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nyxgate::actors::tenant_snapshot_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nyxgate::actors::call_stop)

/// Follows storage's block (storage/type_ids.hpp): a system registers both.
CAF_BEGIN_TYPE_ID_BLOCK(nyxgate, caf::id_block::nyxgate_storage::end)

CAF_ADD_TYPE_ID(nyxgate, (nyxgate::providers::key_status))
CAF_ADD_TYPE_ID(nyxgate, (nyxgate::actors::resolve_query))
CAF_ADD_TYPE_ID(nyxgate, (nyxgate::actors::resolve_answer))

CAF_ADD_ATOM(nyxgate, nyxgate::actors, completed_atom, "completed")
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
