#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/request_actor.hpp"
#include "storage/db_types.hpp"
#include "workflows/workflow.hpp"

namespace boost::asio {
class io_context;
}
namespace nyxgate::storage {
class database;
}

namespace nyxgate::actors {

struct pipeline_options {
  std::string owner;  ///< this node's id in `pipeline_items.owner`: unique per process start
  std::int64_t node_concurrency = 16;
  std::int64_t tenant_concurrency = 16;
  std::int64_t run_concurrency = 8;
  std::int64_t lease_s = 30;
  std::chrono::milliseconds poll{1000};
  std::size_t context_chars = 24000;
};

/// One per node: claims workflow items from the database queue and runs each through
/// `workflows::advance` and in-process calls of the request actor (docs/workflows.md, "The
/// engine"). Thread-safe.
class pipeline_engine {
 public:
  /// Starts claiming at once. Calls run on `shards` in turn.
  static std::shared_ptr<pipeline_engine> start(caf::actor_system& sys, boost::asio::io_context& io,
                                                std::vector<boost::asio::io_context*> shards,
                                                storage::database& db,
                                                std::shared_ptr<const gateway_services> gateway,
                                                pipeline_options options);
  virtual ~pipeline_engine() = default;
  /// Claims at once instead of at the next poll (`nyxgate_pipeline_wake`).
  virtual void wake() = 0;
  /// Stops this node's running calls of `run_id` and marks those items cancelled
  /// (`nyxgate_pipeline_cancel`).
  virtual void cancel_run(std::string run_id) = 0;
  /// Stops claiming, stops the running calls and gives their items back to the queue. Blocks
  /// at most `timeout`; not from an I/O thread of `io`.
  virtual void stop(std::chrono::milliseconds timeout) = 0;
};

}  // namespace nyxgate::actors
