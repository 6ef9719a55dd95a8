#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "storage/database.hpp"

namespace boost::asio {
class io_context;
}
namespace caf {
class actor_system;
}

namespace nyxgate::app {

/// What every subcommand needs: the actor system, the I/O threads, and the storage pool,
/// connected and migrated. Also owns the embedded PostgreSQL when no URL is configured.
class runtime {
 public:
  /// Starts everything; throws std::runtime_error with a clear message on failure.
  runtime(const config::settings& settings, int pool_size);
  ~runtime();

  caf::actor_system& actors();
  /// The background I/O context (database connections, acceptor, timers, batch writers).
  boost::asio::io_context& io();
  /// Every I/O shard, one thread each; client connections are spread over them.
  std::vector<boost::asio::io_context*> io_shards();
  storage::database& db();
  /// The libpq connection string in use (the embedded cluster's socket, or database.url).
  const std::string& conninfo() const { return conninfo_; }
  /// Schema version after migrating.
  int schema_version() const { return schema_version_; }

  /// Supervises the embedded PostgreSQL (nothing with database.url): a dead server is reaped
  /// and restarted with backoff; after database.embedded_max_restarts failed restarts in a row
  /// `on_give_up` runs on the supervisor's thread (it must not call stop()).
  void supervise_database(std::function<void()> on_give_up);
  /// False once the embedded PostgreSQL could not be restarted: this node cannot recover.
  bool recoverable() const;

  /// Stops storage, I/O threads and the embedded database, in that order. Idempotent.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  int schema_version_ = 0;
  std::string conninfo_;
};

/// Applies missing migrations; returns the schema version or throws std::runtime_error.
int migrate(storage::database& db);

}  // namespace nyxgate::app
