#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "storage/db_types.hpp"
#include "storage/detail/pg_connection.hpp"
#include "storage/type_ids.hpp"

namespace boost::asio {
class io_context;
}

namespace nyxgate::storage {

/// Delivers a storage reply to a non-actor caller (an HTTP session's coroutine). If it is
/// dropped without being called (the actor died), it reports `unavailable` so no caller hangs.
class db_sink_guard {
 public:
  explicit db_sink_guard(db_callback fn) : fn_(std::move(fn)) {}
  db_sink_guard(const db_sink_guard&) = delete;
  db_sink_guard& operator=(const db_sink_guard&) = delete;
  ~db_sink_guard() {
    if (fn_) fn_(db_reply::failure(db_errc::unavailable, "storage actor gone"));
  }
  void deliver(db_reply reply) {
    if (auto fn = std::move(fn_)) {
      fn_ = nullptr;
      fn(std::move(reply));
    }
  }

 private:
  db_callback fn_;
};

using db_sink = std::shared_ptr<db_sink_guard>;

/// Owns one database connection and runs one batch at a time, in arrival order.
using storage_actor =
    caf::typed_actor<caf::replies_to<db_batch>::with<db_reply>, caf::reacts_to<db_batch, db_sink>,
                     caf::reacts_to<batch_done_atom, std::uint64_t, db_reply>,
                     caf::reacts_to<link_atom, bool>>;

struct storage_actor_options {
  detail::connection_options connection;
  /// Batches waiting behind the running one; beyond this callers get `overloaded` at once.
  std::size_t max_queue = 256;
  /// Whether the connection is up, as the actor learns it; read by `database` to send a batch
  /// to a connection that can run it. May be null.
  std::shared_ptr<std::atomic<bool>> up;
};

/// Spawns a storage actor owning one libpq connection that runs on `io`.
storage_actor spawn_storage_actor(caf::actor_system& sys, boost::asio::io_context& io,
                                  storage_actor_options opts);

}  // namespace nyxgate::storage

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nyxgate::storage::db_sink)
