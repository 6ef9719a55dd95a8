#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// What the provider and request actors need from the transport, declared here and
/// implemented outside actors/ (app/ adapts net/client to it), so that actors/ never sees a
/// socket.
namespace nyxgate::actors {

/// A running upstream exchange: the request actor's controls, callable from any thread.
class upstream_exchange {
 public:
  virtual ~upstream_exchange() = default;
  /// Stops the exchange: its connection is closed and the reader's `on_end("cancelled")` runs
  /// unless it had already ended.
  virtual void cancel() = 0;
  /// Pauses / resumes reading the answer (back-pressure from a slow client).
  virtual void pause() = 0;
  virtual void resume() = 0;
};
using upstream_exchange_ptr = std::shared_ptr<upstream_exchange>;

/// The head of an upstream answer, valid during the `on_head` call.
struct upstream_head {
  unsigned status = 0;           ///< 0: no usable answer arrived, `error` says why
  std::string_view error;        ///< "timeout", "connect: …", "tls: …", "cancelled"
  std::string_view retry_after;  ///< the Retry-After header, empty if none
};

/// Reads one exchange's answer. Called on the exchange's I/O shard thread, one call at a time,
/// in order: `on_head` once, `on_data` per piece, `on_end` once ("" when the body ended
/// normally, else what broke). `hold` is asked before each read: true pauses the reads until
/// `resume`.
class upstream_reader {
 public:
  virtual ~upstream_reader() = default;
  virtual void on_head(const upstream_head& head) = 0;
  /// Whether the piece carried content: only content restarts the idle clock.
  virtual bool on_data(std::string_view piece) = 0;
  virtual void on_end(const std::string& error) = 0;
  virtual bool hold() = 0;
};

/// One upstream request as the provider actor builds it.
struct upstream_call {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{0};            ///< the whole exchange
  std::chrono::steady_clock::time_point deadline;  ///< exact end, whatever `timeout` allows
  std::chrono::milliseconds idle_timeout{0};       ///< from the head or the last content
  std::size_t max_response_bytes = 8 << 20;
};

/// One I/O shard's connections to upstreams. Its exchanges run on that shard's thread and
/// only there touch its idle connections, which is why it needs no lock: `open` may be
/// called from any thread (an exchange started elsewhere moves to its shard first).
class upstream_pool {
 public:
  virtual ~upstream_pool() = default;
  /// Starts a POST exchange; `reader` is kept until its `on_end` has run.
  virtual upstream_exchange_ptr open(upstream_call call,
                                     std::shared_ptr<upstream_reader> reader) = 0;
};
using upstream_pool_ptr = std::shared_ptr<upstream_pool>;

}  // namespace nyxgate::actors
