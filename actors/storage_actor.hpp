#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "storage/detail/pg_connection.hpp"

namespace nyxgate::actors {

struct storage_actor_options {
  storage::detail::connection_options connection;
  /// Batches waiting behind the running one; beyond this callers get `overloaded` at once.
  std::size_t max_queue = 256;
};

/// Spawns a storage actor owning one libpq connection that runs on `io`.
storage_actor spawn_storage_actor(caf::actor_system& sys, boost::asio::io_context& io,
                                  storage_actor_options opts);

}  // namespace nyxgate::actors
