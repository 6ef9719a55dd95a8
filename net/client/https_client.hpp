#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace boost::asio {
class io_context;
}

namespace nyxgate::net {

struct tls_options {
  std::string ca_file;  ///< extra trusted CA (PEM), added to the system store
  bool verify = true;   ///< peer and host name verification; only tests may turn it off
};

struct outbound_request {
  std::string method = "GET";
  std::string url;  ///< https://host[:port]/path?query (http:// also allowed, for tests)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};  ///< whole exchange: resolve to the last body byte
  /// When set, the exchange ends by then at the latest, whatever `timeout` allows: a caller's
  /// deadline, exact (a duration computed from it would end the exchange a little early).
  std::chrono::steady_clock::time_point deadline{};
  std::size_t max_response_bytes = 8 << 20;
  /// Where the exchange runs (an I/O shard); null: the calling thread's shard, else the
  /// client's io_context. Each io_context has its own pool of idle connections.
  boost::asio::io_context* context = nullptr;
};

struct outbound_response {
  unsigned status = 0;  ///< 0 when no usable HTTP response arrived (then `error` is set)
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
  std::string body;
  /// Transport failure ("timeout", "tls: certificate verify failed (...)", "connect: ...");
  /// empty when a response arrived. "request: ..." means the request could not be written
  /// (an invalid header, an unknown method) and nothing was sent.
  std::string error;

  /// First header with this lower-case name, or empty.
  std::string header(std::string_view lower_name) const;
};

/// Callbacks of a streamed exchange. All run on one I/O thread, in order:
/// `on_head` once (status + headers, or status 0 with `error` on transport failure before a
/// head arrived), then `on_data` per body piece as it arrives (2xx and non-2xx alike), then
/// `on_end` once ("" when the body ended normally, else what broke: "timeout", "cancelled",
/// "connection reset", "response too large"). After a transport failure before the head,
/// only `on_head` (status 0) and `on_end` run.
struct stream_handlers {
  std::function<void(const outbound_response& head)> on_head;
  /// Returns whether the piece carried content: only content restarts the idle clock, so
  /// keep-alive bytes (SSE comments, empty chunks, pings) cannot hold the exchange open.
  std::function<bool(std::string_view piece)> on_data;
  std::function<void(const std::string& error)> on_end;
  /// Asked (on the I/O thread) before each body read: true holds the exchange as `pause()`
  /// would, until `resume()`. Lets a consumer stop the reads before it falls behind.
  std::function<bool()> hold;
  /// Kept until `on_end` has run: the callbacks may then capture plain pointers into it, which
  /// std::function stores without an allocation.
  std::shared_ptr<void> keep;
};

/// Handle of a running streamed exchange.
class outbound_stream {
 public:
  virtual ~outbound_stream() = default;
  /// Stops the exchange from any thread: the connection is closed (never pooled half-read)
  /// and `on_end("cancelled")` runs unless the exchange had already ended.
  virtual void cancel() = 0;
  /// Pauses / resumes reading the body (back-pressure from a slow client).
  virtual void pause() = 0;
  virtual void resume() = 0;
};

/// A client's exchanges on one I/O shard: they run on that shard's thread, and so does every
/// use of its keep-alive pool, which therefore has no lock. Made by `https_client::for_shard`.
class shard_client {
 public:
  virtual ~shard_client() = default;
  /// As `https_client::open_stream`, on this shard whatever `req.context` says; callable from
  /// any thread (from another one, the exchange is posted to the shard).
  virtual std::shared_ptr<outbound_stream> open_stream(outbound_request req,
                                                       std::chrono::milliseconds idle_timeout,
                                                       stream_handlers handlers) = 0;
  /// Idle keep-alive connections pooled (for tests: read while no exchange runs).
  virtual std::size_t pooled_connections() const = 0;
};

/// Outbound HTTP/1.1 client on Beast for calling providers: verified TLS, one deadline per
/// exchange, a small keep-alive pool per (scheme, host, port) and io_context. Never logs
/// header values.
class https_client {
 public:
  /// Throws std::runtime_error if the CA file cannot be loaded. `io` (and every request's
  /// `context`) must be run by a single thread: exchanges rely on it instead of strands.
  static std::shared_ptr<https_client> create(boost::asio::io_context& io, tls_options tls);
  virtual ~https_client() = default;

  /// `done` is called exactly once, on an I/O thread.
  virtual void send(outbound_request req, std::function<void(outbound_response)> done) = 0;
  /// From a coroutine: resumes on the coroutine's executor.
  boost::asio::awaitable<outbound_response> async_send(outbound_request req);
  /// Streams the response body piece by piece. `req.timeout` (and `req.deadline`) bound the
  /// whole exchange; within it, `idle_timeout` bounds the time from the head or the last
  /// piece that carried content (see `on_data`) to the next one. A body read to its end
  /// returns the connection to the pool.
  virtual std::shared_ptr<outbound_stream> open_stream(outbound_request req,
                                                       std::chrono::milliseconds idle_timeout,
                                                       stream_handlers handlers) = 0;
  /// Idle keep-alive connections currently pooled (for tests: read while no exchange runs).
  virtual std::size_t pooled_connections() const = 0;
  /// Exchanges on `shard` with a pool of their own, sharing this client's TLS settings.
  virtual std::shared_ptr<shard_client> for_shard(boost::asio::io_context& shard) = 0;
};

}  // namespace nyxgate::net
