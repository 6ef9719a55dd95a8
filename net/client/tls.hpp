#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <string>

#include <boost/asio/append.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>

/// The upstream client's TLS: the socket OpenSSL reads and writes after the handshake, and the
/// handshake's host name check and error texts. Used by net/client only.
namespace nyxgate::net::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

/// Streams and timers name the shard's executor type: `beast::tcp_stream` and
/// `asio::steady_timer` type-erase theirs (`any_io_executor`), and every operation copies,
/// moves and destroys that wrapper several times.
using shard_executor = asio::io_context::executor_type;
using upstream_tcp = beast::basic_stream<tcp, shard_executor, beast::unlimited_rate_policy>;

/// TLS on the socket itself, after the handshake: OpenSSL reads and writes the socket (a socket
/// BIO, as nginx does) and the operation waits for readiness only when it must. Asio's stream
/// goes through a memory BIO pair instead: each record is copied through it, every read first
/// tries `SSL_read` on the empty pair before reading the socket, and every call clears the
/// thread's error queue (OpenSSL 3 frees sixteen slots each time). The handshake stays Asio's
/// (certificate and host name checks, error texts); `ssl::stream` keeps owning the SSL object.
/// Models AsyncReadStream and AsyncWriteStream.
class tls_socket {
 public:
  using executor_type = shard_executor;

  tls_socket(upstream_tcp& tcp, SSL* ssl) : tcp_(tcp), ssl_(ssl) {}

  /// Moves the SSL object from the handshake's memory BIO onto the socket. False when
  /// OpenSSL still holds bytes it read (then the memory BIO stays in use).
  static bool adopt(upstream_tcp& tcp, SSL* ssl) {
    if (SSL_has_pending(ssl) || BIO_pending(SSL_get_rbio(ssl)) > 0) return false;
    // OpenSSL writes the socket with write(2): a peer that left must not raise SIGPIPE.
    static const bool ignored = [] {
      std::signal(SIGPIPE, SIG_IGN);
      return true;
    }();
    static_cast<void>(ignored);
    if (SSL_set_fd(ssl, tcp.socket().native_handle()) != 1) return false;
    // Read whole socket buffers: without read-ahead OpenSSL reads each record's 5-byte
    // header and its body with two system calls.
    SSL_set_read_ahead(ssl, 1);
    return true;
  }

  executor_type get_executor() { return tcp_.get_executor(); }

  /// One write attempt now, from the caller's handler: `n` bytes went (OpenSSL may write part
  /// of the buffer: Asio's engine enabled partial writes), or `ec` says why none could. When
  /// nothing went for want of room, the rest must be written again from the same bytes.
  std::size_t write_now(asio::const_buffer buf, error_code& ec) {
    std::size_t n = 0;
    int want = 0;
    ec = attempt(false, {const_cast<void*>(buf.data()), buf.size()}, n, want);
    return n;
  }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return asio::async_compose<Token, void(error_code, std::size_t)>(
        op{this, first_buffer(buffers), true}, token, tcp_.socket());
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return asio::async_compose<Token, void(error_code, std::size_t)>(
        op{this, first_buffer(buffers), false}, token, tcp_.socket());
  }

 private:
  struct op {
    tls_socket* s;
    asio::mutable_buffer buf;
    bool reading;
    bool started = false;

    template <class Self>
    void operator()(Self& self, error_code ec = {}) {
      bool initiating = !started;
      started = true;
      if (ec) return self.complete(ec, 0);
      std::size_t n = 0;
      int want = 0;
      ec = s->attempt(reading, buf, n, want);
      if (want != 0) {
        return s->tcp_.socket().async_wait(
            want == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write,
            std::move(self));
      }
      // A completion may not run inside the call that started the operation.
      if (initiating) return asio::post(tcp_executor(), asio::append(std::move(self), ec, n));
      self.complete(ec, n);
    }

    template <class Self>
    void operator()(Self& self, error_code ec, std::size_t n) {
      self.complete(ec, n);
    }

    executor_type tcp_executor() const { return s->tcp_.get_executor(); }
  };

  template <class Buffers>
  static asio::mutable_buffer first_buffer(const Buffers& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      asio::const_buffer b(*it);
      if (b.size() > 0) return {const_cast<void*>(b.data()), b.size()};
    }
    return {};
  }

  /// One SSL_read_ex or SSL_write_ex. `want` is set when the socket must be waited for.
  error_code attempt(bool reading, asio::mutable_buffer buf, std::size_t& n, int& want) {
    if (buf.size() == 0) return {};
    // SSL_get_error reads the thread's error queue: an entry left by anything else would turn
    // a plain "wait for the socket" into a failure. Peeking is cheap; clearing is not.
    if (ERR_peek_error() != 0) ERR_clear_error();
    int r = reading ? SSL_read_ex(ssl_, buf.data(), buf.size(), &n)
                    : SSL_write_ex(ssl_, buf.data(), buf.size(), &n);
    if (r == 1) return {};
    int sys = errno;
    n = 0;
    int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      want = err;
      return {};
    }
    if (err == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
    if (err == SSL_ERROR_SYSCALL) {
      ERR_clear_error();
      if (sys == 0) return ssl::error::stream_truncated;
      return {sys, boost::system::system_category()};
    }
    unsigned long code = ERR_peek_last_error();
    ERR_clear_error();
    if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
      return ssl::error::stream_truncated;
    // A failure that left no error code must still read as one.
    if (code == 0) return ssl::error::unspecified_system_error;
    return {static_cast<int>(code), asio::error::get_ssl_category()};
  }

  upstream_tcp& tcp_;
  SSL* ssl_;
};

/// Asio's host name check, recording a mismatch in the store so the error can name it.
struct host_name_check {
  ssl::host_name_verification check;

  bool operator()(bool preverified, ssl::verify_context& ctx) const {
    bool ok = check(preverified, ctx);
    if (!ok && preverified)
      X509_STORE_CTX_set_error(ctx.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
    return ok;
  }
};

/// Whether `host` is an IP address (no SNI for those, RFC 6066).
bool is_ip_literal(const std::string& host);

/// "certificate verify failed: unable to get local issuer certificate" rather than
/// "certificate verify failed (SSL routines)".
std::string describe_tls_failure(error_code ec, SSL* ssl);

}  // namespace nyxgate::net::detail
