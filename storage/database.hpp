#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "storage/db_types.hpp"

namespace boost::asio {
class io_context;
}
namespace caf {
class actor_system;
}

namespace nyxgate::storage {

struct database_options {
  std::string conninfo;
  int pool_size = 4;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds query_timeout{5000};
  std::size_t max_queue = 256;
};

/// The public face of storage: a pool of storage actors, each owning one connection.
/// Callers outside actors use it from any thread; replies arrive on a storage thread.
class database {
 public:
  database(caf::actor_system& sys, boost::asio::io_context& io, database_options opts);
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  /// Runs a batch on the next storage actor (round robin); `done` is called exactly once.
  void execute(db_batch batch, db_callback done);

  /// Blocks the calling thread until the reply arrives or `timeout` passes. For start-up and
  /// command-line code only: never from an I/O thread or an actor.
  db_reply execute_blocking(db_batch batch,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// Waits until every connection of the pool is up; false on timeout.
  bool wait_connected(std::chrono::milliseconds timeout);

  /// Stops the storage actors; queued callers get `unavailable`.
  void close();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Convenience: one statement, no transaction.
inline db_batch single(statement st) {
  db_batch b;
  b.statements.push_back(std::move(st));
  return b;
}

}  // namespace nyxgate::storage
