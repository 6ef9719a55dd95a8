#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/call_sink.hpp"
#include "actors/interfaces.hpp"
#include "providers/chat.hpp"
#include "providers/failover.hpp"

namespace boost::asio {
class io_context;
}
namespace nyxgate::storage {
class usage_recorder;
}

namespace nyxgate::actors {

class tenant_source;
class provider_directory;

struct gateway_options {
  providers::retry_policy retry;
  std::chrono::milliseconds call_timeout{120000};  ///< the whole call, every attempt included
  std::chrono::milliseconds idle_timeout{60000};   ///< a stream silent this long is broken
  std::int64_t key_cooldown_s = 300;
  std::size_t max_queued_bytes = 256 << 10;  ///< a slower client pauses the upstream read
};

/// What every request actor shares: fixed after start.
struct gateway_services {
  tenant_source* tenants = nullptr;
  const provider_directory* providers = nullptr;
  std::shared_ptr<storage::usage_recorder> usage;  ///< may be null (tests)
  gateway_options options;
  /// Request actors alive; shutdown waits for zero before the last usage flush.
  std::shared_ptr<std::atomic<std::int64_t>> live_calls =
      std::make_shared<std::atomic<std::int64_t>>(0);
};

/// One completion call as the API hands it over.
struct chat_call {
  std::string tenant_id;
  std::string user_id;
  std::string request_id;
  std::shared_ptr<const providers::chat_request> request;
  std::chrono::steady_clock::time_point received_at;
  /// Where the call's events go (JSON, SSE or WebSocket), and how it learns of a stop.
  std::shared_ptr<call_sink> sink;
  /// The I/O shard of the client's connection; upstream exchanges run there.
  boost::asio::io_context* home = nullptr;
  /// A workflow call's run and item (its usage row names them); empty for API calls.
  std::string run_id;
  std::string item_id;
};

/// Spawns the call's request actor; it reports to `call.sink` and then ends.
void spawn_request_actor(caf::actor_system& sys, std::shared_ptr<const gateway_services> services,
                         chat_call call);

}  // namespace nyxgate::actors
