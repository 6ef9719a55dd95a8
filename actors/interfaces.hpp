#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"
#include "actors/upstream.hpp"

namespace nyxgate::actors {

/// One per tenant: owns its decrypted key set and LLM defaults, answers resolutions from
/// memory, and reloads from the database when told that something changed.
using tenant_actor = caf::typed_actor<
    caf::reacts_to<resolve_atom, resolve_query, resolve_sink>,
    caf::replies_to<resolve_atom, resolve_query>::with<resolve_answer>,
    caf::replies_to<chain_atom, resolve_query>::with<chain_answer_ptr>,
    caf::reacts_to<models_atom, std::string, models_sink>,
    /// key id, new status (invalid | cooldown), reason, cooldown seconds
    caf::reacts_to<key_health_atom, std::string, providers::key_status, std::string, std::int64_t>,
    /// the status write of a key health change (key id, its mark's number) has ended
    caf::reacts_to<completed_atom, std::string, std::uint64_t>,
    caf::reacts_to<reload_atom, done_sink>,
    caf::reacts_to<loaded_atom, std::uint64_t, tenant_snapshot_ptr, std::string>>;

/// One per completion call: walks the chain (retries, backoff, failover), commits the answer
/// to the client and records usage. Ends with the call.
using request_actor =
    caf::typed_actor<caf::reacts_to<upstream_atom, upstream_event_ptr>,
                     caf::reacts_to<retry_atom, std::uint32_t>,
                     caf::reacts_to<gone_atom, call_stop>, caf::reacts_to<drained_atom>>;

/// A request actor's hold on one attempt's exchange. The provider actor hands the exchange
/// over here as soon as it is open (a message back would cost a mailbox round trip per
/// attempt); the request actor reads it to cancel, pause or resume.
class attempt_link {
 public:
  /// Provider side: the exchange is open. A link the call already let go of cancels it
  /// (false then).
  bool open(upstream_exchange_ptr stream);

  /// Request side: the exchange if it is open and not let go of, else null.
  upstream_exchange_ptr stream() const;

  /// Request side: the call is done with this attempt; `cancel` stops an exchange that is
  /// still running (a finished one has given its connection back already). An exchange
  /// opened later is cancelled at once.
  void release(bool cancel);

 private:
  mutable std::mutex mutex_;
  upstream_exchange_ptr stream_;
  bool released_ = false;
};

/// One upstream attempt as the request actor hands it to a provider actor.
struct attempt_spec {
  std::uint32_t attempt = 0;
  std::string model;
  std::string secret;  ///< in memory only, never logged
  std::shared_ptr<const providers::chat_request> request;
  std::int64_t max_tokens = 0;
  std::chrono::milliseconds head_timeout{0};       ///< the time left: the attempt's whole exchange
  std::chrono::steady_clock::time_point deadline;  ///< the call's: no wait lasts past it
  std::chrono::milliseconds idle_timeout{0};  ///< from the head or the last content to the next
  request_actor reply_to;
  /// Streams: content bytes reported to `reply_to` and not yet handled by it, and the check
  /// the upstream read asks before each read (back-pressure from the client's queue).
  std::shared_ptr<std::atomic<std::int64_t>> in_flight;
  std::function<bool()> hold;
  /// Where the provider actor hands the open exchange over; `opened` runs after (streams:
  /// resumes an exchange held before the request actor could see it).
  std::shared_ptr<attempt_link> link;
  std::function<void(const upstream_exchange_ptr&)> opened;
};
using attempt_ptr = std::shared_ptr<const attempt_spec>;

/// One per provider per I/O shard: owns its upstream's base URL, that shard's connection pool
/// and the wire translation, and guards the provider's circuit (shared by the provider's
/// actors on all shards). Runs attempts and reports their events straight to the request
/// actor; an attempt the open circuit refuses fails at once with reason `circuit_open`.
/// Threads: the pool is touched only by the exchanges, which always run on the actor's
/// shard; the actor's own handler may run on another thread (a delayed retry is scheduled
/// from CAF's clock thread onto any shard) and so never touches the pool itself.
using provider_actor = caf::typed_actor<caf::reacts_to<attempt_atom, attempt_ptr>>;

/// The baseline for benchmarks: an actor that answers at once, through the same sink path.
using echo_actor = caf::typed_actor<caf::reacts_to<ping_atom, resolve_query, resolve_sink>>;

}  // namespace nyxgate::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nyxgate::actors::attempt_ptr)
