#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "storage/db_types.hpp"

namespace boost::asio {
class io_context;
}

namespace nyxgate::storage::detail {

struct connection_options {
  std::string conninfo;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds query_timeout{5000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  std::string name = "storage";  ///< for logs
};

/// One libpq connection driven non-blocking on an Asio strand: PQconnectStart/PQconnectPoll,
/// PQsendQueryParams, PQflush, wait readable, PQconsumeInput, PQisBusy/PQgetResult, a deadline
/// on every wait. Reconnects with exponential backoff and jitter when the server goes away.
/// Runs one batch at a time; the storage actor in front of it serializes callers.
class pg_connection {
 public:
  using state_fn = std::function<void(bool up)>;
  using notify_fn = std::function<void(std::string channel, std::string payload)>;

  static std::shared_ptr<pg_connection> create(boost::asio::io_context& ctx,
                                               connection_options opts);
  virtual ~pg_connection() = default;

  /// Begins connecting. `on_state` hears every up/down change, `on_notify` every NOTIFY;
  /// both are called on an I/O thread.
  virtual void start(state_fn on_state = {}, notify_fn on_notify = {}) = 0;

  /// Runs a batch; `done` is called exactly once on an I/O thread. Fails at once with
  /// `unavailable` while disconnected and `overloaded` while another batch runs.
  virtual void execute(db_batch batch, db_callback done) = 0;

  /// Closes the connection and stops reconnecting; a running batch fails.
  virtual void close() = 0;
};

}  // namespace nyxgate::storage::detail
