#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include <boost/beast/ssl.hpp>

#include "net/client/tls.hpp"
#include "runtime/lazy_deadline.hpp"

namespace nyxgate::net::detail {

/// Room reserved in each connection's read buffer: one TLS record's worth.
constexpr std::size_t read_buffer_bytes = 16 << 10;
/// How far ahead a connection's watchdog waits at most.
constexpr std::chrono::seconds watchdog_tick{1};

/// One TCP (maybe TLS) connection to an upstream, owned by one exchange at a time or the pool.
struct connection : std::enable_shared_from_this<connection> {
  explicit connection(const asio::io_context::executor_type& ex) : watchdog(ex) {}

  std::shared_ptr<ssl::context> tls_context;  ///< declared first: outlives the stream using it
  std::optional<upstream_tcp> plain;
  std::optional<beast::ssl_stream<upstream_tcp>> tls;
  std::optional<tls_socket> tls_io;  ///< after the handshake: TLS on the socket (see tls_socket)
  beast::flat_buffer buffer;

  // The deadline of the exchange using the connection (connect and handshake use the
  // stream's own expiry), kept lazily: set on every read and write.
  runtime::lazy_deadline<shard_executor> watchdog;
  clock::time_point due = clock::time_point::max();  ///< max: nothing to watch
  bool timed_out = false;                            ///< the watchdog closed the connection

  /// The current operations must end by `at`, or the connection is closed.
  void watch(clock::time_point at) {
    due = at;
    watchdog.wait_until<&connection::on_watchdog, runtime::hold::weak>(at, *this);
  }

  void unwatch() { due = clock::time_point::max(); }

  void on_watchdog(error_code ec) {
    if (ec || due == clock::time_point::max()) return;  // idle: the next watch restarts it
    auto now = clock::now();
    if (now >= due) {
      timed_out = true;
      unwatch();
      return close();
    }
    watchdog.wait_until<&connection::on_watchdog, runtime::hold::weak>(
        std::min(due, now + watchdog_tick), *this);
  }

  upstream_tcp& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  /// Bytes past the answer that OpenSSL already read (with read-ahead): such a connection is
  /// not reused, or they would be taken for the next answer.
  bool holds_unread() { return tls_io && SSL_has_pending(tls->native_handle()); }

  template <class Fn>
  void with_stream(Fn&& fn) {
    if (tls_io)
      fn(*tls_io);
    else if (tls)
      fn(*tls);
    else
      fn(*plain);
  }

  void close() {
    error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().close();
  }
};

}  // namespace nyxgate::net::detail
