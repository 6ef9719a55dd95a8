#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "telemetry/json_escape.hpp"
#include "telemetry/metrics.hpp"

namespace nyxgate::net {

/// True when `s` holds a CR or LF: a header name or value with one would split the head.
/// (`find_first_of("\r\n")` looks every byte up in the set with a `memchr` call of its own.)
/// Eight bytes at a time first: a key or a model name is checked on every call.
inline bool has_line_break(std::string_view s) {
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    auto w = telemetry::load_word(s.data() + i);
    // A borrow may flag a clean word too; the byte loop then decides.
    if (telemetry::has_byte(w, '\r') || telemetry::has_byte(w, '\n')) break;
  }
  for (; i < s.size(); ++i)
    if (s[i] == '\r' || s[i] == '\n') return true;
  return false;
}

/// True when `s` may go out as a header value as it is: no control character but tab, no DEL
/// (RFC 9110 field-value), so no line break either. Eight bytes at a time first, as above.
inline bool is_field_value(std::string_view s) {
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    auto w = telemetry::load_word(s.data() + i);
    if (telemetry::has_byte_below(w, 0x20) || telemetry::has_byte(w, 0x7f)) break;
  }
  for (; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

/// Lower-cases ASCII letters in place (header names), without the C locale's `tolower` call.
inline void ascii_lower(std::string& s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
}

/// True when `name` equals one of `names`, ignoring ASCII case (header names). Lengths are
/// compared first: most names match none.
inline bool header_name_in(std::string_view name, std::initializer_list<std::string_view> names) {
  for (auto candidate : names) {
    if (candidate.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i) {
      auto a = static_cast<unsigned char>(name[i]), b = static_cast<unsigned char>(candidate[i]);
      same = a == b || ((a | 0x20) == (b | 0x20) && (a | 0x20) >= 'a' && (a | 0x20) <= 'z');
    }
    if (same) return true;
  }
  return false;
}

/// Why a request's handler is told to stop: its client left (or cancelled), or the server's
/// shutdown grace ran out while the client is still connected, for a last word.
enum class disconnect_cause { client_gone, server_stopping };

/// Fires once when the client goes away before its answer is complete (the socket closed or
/// broke), or when the shutdown grace ends (`server_stopping`). Handlers subscribe to cancel
/// upstream work. Thread-safe; a late subscriber to a fired signal is called at once.
class disconnect_signal {
 public:
  void subscribe(std::function<void()> fn) {
    {
      std::lock_guard lock(mutex_);
      if (!fired_) {
        fns_.push_back(std::move(fn));
        return;
      }
    }
    fn();
  }
  void fire(disconnect_cause cause = disconnect_cause::client_gone) {
    std::vector<std::function<void()>> fns;
    {
      std::lock_guard lock(mutex_);
      if (fired_) return;
      fired_ = true;
      cause_ = cause;
      fns.swap(fns_);
    }
    for (auto& fn : fns) fn();
  }
  bool fired() const {
    std::lock_guard lock(mutex_);
    return fired_;
  }
  /// What the first `fire` said.
  disconnect_cause cause() const {
    std::lock_guard lock(mutex_);
    return cause_;
  }

 private:
  mutable std::mutex mutex_;
  bool fired_ = false;
  disconnect_cause cause_ = disconnect_cause::client_gone;
  std::vector<std::function<void()>> fns_;
};

/// A request as the session hands it to the router: fully read, limits already enforced.
/// Deliberately free of Beast types so handlers compile without Beast headers.
struct http_request {
  std::string method;  ///< "GET", "POST", ...
  std::string target;  ///< path plus query string, as received
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
  std::string request_id;
  std::string remote_address;
  std::chrono::steady_clock::time_point received_at;
  /// Fired by the session when the client leaves before the answer is complete.
  std::shared_ptr<disconnect_signal> disconnected = std::make_shared<disconnect_signal>();

  /// First header with this lower-case name, or empty.
  std::string_view header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers)
      if (k == lower_name) return v;
    return {};
  }
};

/// The body of a streamed answer (SSE): the head has gone out with chunked encoding; the
/// handler feeds pieces from any thread. Pieces go out in order, each as it is written.
class response_writer {
 public:
  virtual ~response_writer() = default;
  /// Queues a piece of the body. False when the client is gone (stop producing).
  virtual bool write(std::string piece) = 0;
  /// Ends the body; the connection then serves its next request (or closes).
  virtual void finish() = 0;
  /// Bytes queued and not yet written: producers pause above their bound (back-pressure).
  virtual std::size_t queued_bytes() const = 0;
  /// Called (on the session's strand) each time the queue has been fully written.
  virtual void on_drained(std::function<void()> fn) = 0;
};

/// The server side of an accepted WebSocket, free of Beast types. Thread-safe: messages go
/// out in order from any thread; a bounded queue and the drained callback carry back-pressure.
class ws_connection {
 public:
  virtual ~ws_connection() = default;
  /// Queues a text message. False once the socket is closing or closed.
  virtual bool send(std::string text) = 0;
  /// Bytes queued and not yet written.
  virtual std::size_t queued_bytes() const = 0;
  /// Adds a callback run (on the socket's strand) each time the queue has been written out;
  /// kept until the socket closes.
  virtual void on_drained(std::function<void()> fn) = 0;
  /// The first message authenticated the socket: the auth deadline no longer applies.
  virtual void authenticated() = 0;
  /// Sends a close frame with `code` and `reason`, then closes.
  virtual void close(std::uint16_t code, std::string reason) = 0;
  /// Runs `fn` on the socket's strand, where the endpoint's calls happen (in order with them).
  virtual void dispatch(std::function<void()> fn) = 0;
};

/// The application side of a WebSocket. Called on the socket's strand, one call at a time:
/// `on_open` first, then messages, then `on_close` exactly once.
class ws_endpoint {
 public:
  virtual ~ws_endpoint() = default;
  virtual void on_open(std::shared_ptr<ws_connection> conn) = 0;
  virtual void on_text(std::string message) = 0;
  /// A binary message (not part of the protocol): its content is dropped.
  virtual void on_binary() = 0;
  /// The server is shutting down: finish what runs, start nothing new, then close (1001).
  virtual void on_shutdown() {}
  /// The shutdown grace ran out: what still runs says its last word (a stream's error event)
  /// now; the socket closes (1001) right after.
  virtual void on_stopping() {}
  virtual void on_close() = 0;
};

struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// Header lines the application rendered itself (`Name: value\r\n` each), written after
  /// `headers`: cheaper than a string pair per header. Whoever appends here has kept CR and LF
  /// out of every name and value (`has_line_break`).
  std::string head_lines;
  /// Route label for metrics; set by the router.
  telemetry::route_kind route = telemetry::route_kind::other;
  /// Set for a streamed answer: the session writes status and headers (Transfer-Encoding:
  /// chunked, no Content-Length; `body` is ignored), then calls `stream` with the writer.
  std::function<void(std::shared_ptr<response_writer>)> stream;
  /// Set to accept a WebSocket upgrade: the session answers 101 and hands the socket over
  /// (status, body and headers are ignored). Only for a valid upgrade request.
  std::shared_ptr<ws_endpoint> websocket;
};

/// Completes a request. Call exactly once, from any thread: the session posts the write onto
/// its own thread. Calling it after the client went away does nothing. It never runs session
/// code inline, so it may be called under the caller's locks (handlers rely on that: a
/// stream's `stream` callback takes them again; answering inline deadlocked).
using respond_fn = std::function<void(http_response)>;

/// The application's entry point for a request.
using http_handler = std::function<void(http_request, respond_fn)>;

}  // namespace nyxgate::net
