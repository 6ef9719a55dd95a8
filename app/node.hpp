#pragma once

#include <chrono>
#include <memory>

#include "config/config.hpp"
#include "net/http_types.hpp"

namespace caf {
class actor_system;
}
namespace nyxgate::storage {
class database;
class usage_recorder;
}  // namespace nyxgate::storage
namespace nyxgate::identity {
class authenticator;
}
namespace nyxgate::actors {
class tenant_directory;
}

namespace nyxgate::app {

/// One nyxgate server: runtime (storage, I/O, actors), identity, routes, HTTP listener.
class node {
 public:
  /// Starts everything and listens; throws std::runtime_error with a clear message on failure.
  explicit node(const config::settings& settings);
  ~node();

  unsigned short port() const;
  /// The request entry point, for in-process tests that skip the socket.
  net::http_handler handler();
  storage::database& db();
  identity::authenticator& authenticator();
  actors::tenant_directory& tenants();
  caf::actor_system& actor_system();
  storage::usage_recorder& usage();

  /// Stops accepting, drains in-flight requests up to the grace period, flushes pending
  /// writes, stops storage and the embedded database. Idempotent.
  void shutdown();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace nyxgate::app
