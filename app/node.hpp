#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "net/http/types.hpp"

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
  /// `on_fatal` runs (on another thread) when the node cannot recover by itself, such as an
  /// embedded database that could not be restarted; the owner should shut the node down and
  /// exit non-zero. It must not call shutdown() itself.
  explicit node(const config::settings& settings, std::function<void()> on_fatal = {});
  ~node();

  unsigned short port() const;
  /// The request entry point, for in-process tests that skip the socket.
  net::http_handler handler();
  storage::database& db();
  identity::authenticator& authenticator();
  actors::tenant_directory& tenants();
  caf::actor_system& actor_system();
  storage::usage_recorder& usage();
  /// The tRPC procedures this node serves, sorted by path.
  std::vector<std::string> procedure_paths() const;

  /// Stops accepting, drains in-flight requests up to the grace period, flushes pending
  /// writes, stops storage and the embedded database. Idempotent.
  void shutdown();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace nyxgate::app
