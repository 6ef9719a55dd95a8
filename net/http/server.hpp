#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/http/types.hpp"

namespace boost::asio {
class io_context;
}

namespace nyxgate::net {

struct server_limits {
  std::size_t max_body_bytes = 1 << 20;             ///< 413
  std::size_t max_header_bytes = 16 << 10;          ///< 431
  std::size_t max_url_bytes = 8 << 10;              ///< 414
  std::chrono::milliseconds header_timeout{10000};  ///< whole header, from its first byte: 408
  std::chrono::milliseconds idle_timeout{60000};    ///< keep-alive wait for the next request
  std::chrono::milliseconds body_timeout{30000};    ///< whole body: 408
  std::chrono::milliseconds write_timeout{30000};   ///< a client that does not read is dropped
  std::size_t max_connections = 10000;              ///< beyond: 503 and close
  /// WebSockets (GET /v1/ws): largest message (beyond: close 1009), a silent peer is pinged
  /// after half the idle timeout and closed after all of it, an unauthenticated socket is
  /// closed (1008) after the auth timeout.
  std::size_t ws_max_message_bytes = 1 << 20;
  std::chrono::milliseconds ws_idle_timeout{60000};
  std::chrono::milliseconds ws_auth_timeout{5000};
  /// Producers pause on the socket's queue (see ws_connection::queued_bytes); a socket whose
  /// writes make no progress for `ws_stuck_timeout`, or whose queue exceeds
  /// `ws_max_queued_bytes`, has a stuck reader: closed (1008).
  std::size_t ws_max_queued_bytes = 4 << 20;
  std::chrono::milliseconds ws_stuck_timeout{10000};
};

/// Makes the id of a request that brought no valid `x-request-id`.
using request_id_fn = std::string (*)();

/// HTTP/1.1 server on Beast: keep-alive, limits and timeouts, request ids, one JSON log line
/// per request. Hands each complete request to the handler; the answer comes back through
/// `respond_fn` from any thread.
class http_server {
 public:
  /// `listen` is "host:port" (port 0 picks a free one). Throws std::runtime_error on failure.
  /// `ctx` runs the acceptor; connections are spread over `session_contexts` in turn (the
  /// I/O shards; empty: `ctx`).
  static std::shared_ptr<http_server> create(
      boost::asio::io_context& ctx, const std::string& listen, server_limits limits,
      http_handler handler, request_id_fn new_request_id,
      std::vector<boost::asio::io_context*> session_contexts = {});
  virtual ~http_server() = default;

  virtual unsigned short port() const = 0;
  virtual void start() = 0;
  /// Stops accepting, closes idle connections, lets in-flight requests finish (answered with
  /// `Connection: close`) up to `grace`, then closes the rest; `done` runs once afterwards.
  virtual void shutdown(std::chrono::milliseconds grace, std::function<void()> done) = 0;
  virtual std::size_t open_connections() const = 0;
};

}  // namespace nyxgate::net
