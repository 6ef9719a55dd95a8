#include "net/client/https_client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

#include <boost/asio/append.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include "net/http/readers.hpp"
#include "net/http/types.hpp"
#include "runtime/io_runtime.hpp"
#include "runtime/lazy_deadline.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

std::string outbound_response::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return {};
}

namespace {

/// Enough idle connections to carry a busy gateway's concurrency without new handshakes.
constexpr std::size_t max_idle_per_upstream = 256;
/// Each streamed read delivers at most this much.
constexpr std::size_t stream_window = 16 << 10;
/// Room reserved in each connection's read buffer: one TLS record's worth.
constexpr std::size_t read_buffer_bytes = 16 << 10;
constexpr std::chrono::seconds idle_expiry{30};
constexpr std::uint32_t max_response_header_bytes = 64 << 10;

/// How far ahead a connection's watchdog waits at most.
constexpr std::chrono::seconds watchdog_tick{1};

/// Streams and timers name the shard's executor type: `beast::tcp_stream` and
/// `asio::steady_timer` type-erase theirs (`any_io_executor`), and every operation copies,
/// moves and destroys that wrapper several times (about 4 % of a call's instructions).
using shard_executor = asio::io_context::executor_type;
using upstream_tcp = beast::basic_stream<tcp, shard_executor, beast::unlimited_rate_policy>;
using shard_timer = asio::basic_waitable_timer<clock, asio::wait_traits<clock>, shard_executor>;

/// TLS on the socket itself, after the handshake: OpenSSL reads and writes the socket (a socket
/// BIO, as nginx does) and the operation waits for readiness only when it must. Asio's stream
/// goes through a memory BIO pair instead: each record is copied through it, every read first
/// tries `SSL_read` on the empty pair before reading the socket, and every call clears the
/// thread's error queue (OpenSSL 3 frees sixteen slots each time): a fifth of a call's
/// instructions. The handshake stays Asio's (certificate and host name checks, error texts);
/// `ssl::stream` keeps owning the SSL object. Models AsyncReadStream and AsyncWriteStream.
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

/// Idle keep-alive connections per upstream ("https://host:port") of one io_context: at most a
/// few each, the most recently used first, dropped after `idle_expiry` (checked on every take
/// and put). Used only on its io_context's thread (connections are bound to it): no lock.
class connection_pool {
 public:
  std::shared_ptr<connection> take(const std::string& key) {
    evict_expired(clock::now());
    auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    auto conn = std::move(it->second.back().conn);
    it->second.pop_back();
    if (it->second.empty()) idle_.erase(it);
    return conn;
  }

  void put(const std::string& key, std::shared_ptr<connection> conn) {
    auto now = clock::now();
    evict_expired(now);
    auto& list = idle_[key];
    if (list.size() >= max_idle_per_upstream) list.pop_front();
    list.push_back({std::move(conn), now});
  }

  std::size_t size() const {
    auto now = clock::now();
    std::size_t n = 0;
    for (const auto& [key, list] : idle_)
      for (const auto& entry : list)
        if (now - entry.since < idle_expiry) ++n;
    return n;
  }

 private:
  struct idle_connection {
    std::shared_ptr<connection> conn;
    clock::time_point since;
  };

  void evict_expired(clock::time_point now) {
    for (auto it = idle_.begin(); it != idle_.end();) {
      auto& list = it->second;
      while (!list.empty() && now - list.front().since >= idle_expiry) list.pop_front();
      it = list.empty() ? idle_.erase(it) : std::next(it);
    }
  }

  std::map<std::string, std::deque<idle_connection>> idle_;
};

struct parsed_url {
  bool tls = true;
  std::string host;  ///< for resolving, SNI and verification (IPv6 without brackets)
  std::string port;
  std::string host_header;  ///< as written in the URL, with the port if one was given
  std::string target;       ///< path and query
  std::string path;         ///< without the query, for logs
  std::string pool_key;
};

std::optional<parsed_url> parse_url(std::string_view text, std::string& error) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    error = "url: " + parsed.error().message();
    return std::nullopt;
  }
  const auto& u = *parsed;
  parsed_url out;
  if (u.scheme_id() == boost::urls::scheme::https) {
    out.tls = true;
  } else if (u.scheme_id() == boost::urls::scheme::http) {
    out.tls = false;
  } else {
    error = "url: scheme must be https or http";
    return std::nullopt;
  }
  if (u.has_userinfo()) {
    error = "url: credentials in the URL are not allowed";
    return std::nullopt;
  }
  out.host = u.host_address();
  if (out.host.empty()) {
    error = "url: missing host";
    return std::nullopt;
  }
  out.port = u.has_port() ? std::string{u.port()} : (out.tls ? "443" : "80");
  out.host_header = u.encoded_host_and_port();
  out.path = u.encoded_path();
  if (out.path.empty()) out.path = "/";
  out.target = out.path;
  if (u.has_query()) out.target += "?" + std::string{u.encoded_query()};
  out.pool_key = std::string{u.scheme()} + "://" + out.host + ":" + out.port;
  return out;
}

/// An upstream URL as parsed for an exchange on `context`, from this thread's cache: the same
/// few provider URLs come back on every call (parsing one cost a URL parse and seven strings).
/// Null if the URL is invalid (`error` says why).
std::shared_ptr<const parsed_url> cached_url(const std::string& url, const void* context,
                                             std::string& error) {
  struct entry {
    const void* context;
    std::string url;
    std::shared_ptr<const parsed_url> parsed;
  };
  thread_local std::vector<entry> cache;
  for (const auto& e : cache)
    if (e.context == context && e.url == url) return e.parsed;
  auto parsed = parse_url(url, error);
  if (!parsed) return nullptr;
  auto shared = std::make_shared<const parsed_url>(std::move(*parsed));
  if (cache.size() >= 16) cache.erase(cache.begin());
  cache.push_back({context, url, shared});
  return shared;
}

const parsed_url no_url{};

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

/// Framing and routing headers the client writes itself; a caller's copy is dropped.
bool ours_to_set(std::string_view name) {
  return header_name_in(name, {"host", "content-length", "connection", "transfer-encoding"});
}

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

/// "certificate verify failed: unable to get local issuer certificate" rather than
/// "certificate verify failed (SSL routines)".
std::string describe_tls_failure(error_code ec, SSL* ssl) {
  std::string out;
  if (ec.category() == asio::error::get_ssl_category()) {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    out = reason ? reason : ec.message();
  } else {
    out = ec.message();
  }
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    out += ": ";
    out += X509_verify_cert_error_string(verify);
  }
  return out;
}

/// One request/response exchange: resolve, connect, handshake, write, read, all under one
/// deadline; kept alive by its pending operation (and a streamed one by its caller's handle,
/// since a paused exchange has no pending operation). Dropping the handle does not cancel it.
class exchange final : public outbound_stream, public std::enable_shared_from_this<exchange> {
 public:
  exchange(asio::io_context& io, std::shared_ptr<ssl::context> tls_context, bool verify,
           std::shared_ptr<connection_pool> pool, outbound_request req,
           std::function<void(outbound_response)> done)
      : executor_(io.get_executor()),
        tls_context_(std::move(tls_context)),
        verify_(verify),
        pool_(std::move(pool)),
        req_(std::move(req)),
        done_(std::move(done)) {}

  /// A streamed exchange: the body goes to `handlers` piece by piece.
  exchange(asio::io_context& io, std::shared_ptr<ssl::context> tls_context, bool verify,
           std::shared_ptr<connection_pool> pool, outbound_request req,
           std::chrono::milliseconds idle_timeout, stream_handlers handlers)
      : exchange(io, std::move(tls_context), verify, std::move(pool), std::move(req), nullptr) {
    streaming_ = true;
    idle_timeout_ = idle_timeout;
    handlers_ = std::move(handlers);
  }

  // -- control from any thread (streamed exchanges) -------------------------------------

  void cancel() override {
    asio::post(executor_, [self = shared_from_this()] {
      if (self->ended_) return;
      if (self->resolver_) self->resolver_->cancel();
      if (self->resolve_timer_) self->resolve_timer_->cancel();
      // Close, but keep the connection: an operation may be pending on it, and it still
      // refers to the stream, buffer and parser. Its handler sees ended_ and does nothing;
      // the connection dies with the exchange.
      if (self->conn_) self->conn_->close();
      if (!self->head_sent_) {
        self->head_sent_ = true;
        outbound_response head;
        head.error = "cancelled";
        if (self->handlers_.on_head) self->handlers_.on_head(head);
      }
      self->end_stream("cancelled");
    });
  }

  void pause() override {
    asio::post(executor_, [self = shared_from_this()] { self->paused_ = true; });
  }

  void resume() override {
    asio::post(executor_, [self = shared_from_this()] {
      self->paused_ = false;
      // The time held counts against the client, not the upstream: the idle clock restarts.
      self->content_due_ = clock::now() + self->idle_timeout_;
      if (self->read_wanted_) {
        self->read_wanted_ = false;
        self->read_body();
      }
    });
  }

  /// Never completes inline: `done` always runs on an I/O thread. From the exchange's own
  /// thread it starts after the caller's handler, in the same Asio handler (runtime::run_soon).
  void run() {
    if (runtime::current_context() != &executor_.context())
      return asio::post(executor_, [self = shared_from_this()] { self->start(); });
    runtime::run_soon([self = shared_from_this()] { self->start(); });
  }

 private:
  void start() {
    started_ = clock::now();
    deadline_ = started_ + req_.timeout;
    if (req_.deadline != clock::time_point{}) deadline_ = std::min(deadline_, req_.deadline);
    std::string error;
    auto url = cached_url(req_.url, &executor_.context(), error);
    if (!url) return fail(std::move(error));
    url_ = url.get();
    url_holder_ = std::move(url);
    if (!build_message(error)) return fail(std::move(error));
    if (auto conn = pool_->take(url_->pool_key)) {
      conn_ = std::move(conn);
      reused_ = true;
      return do_write();
    }
    do_resolve();
  }

  /// The request as it goes on the wire, in one buffer (one TLS record, one write).
  bool build_message(std::string& error) {
    verb_ = http::string_to_verb(req_.method);
    if (verb_ == http::verb::unknown) {
      error = "request: unknown method";
      return false;
    }
    using namespace std::string_view_literals;
    auto& out = message_;
    out.reserve(256 + req_.body.size());
    out.append(req_.method).append(" "sv).append(url_->target).append(" HTTP/1.1\r\n"sv);
    out.append("Host: "sv).append(url_->host_header).append("\r\n"sv);
    bool agent = false;
    for (const auto& [name, value] : req_.headers) {
      if (name.empty() || !is_field_value(name) || !is_field_value(value) ||
          std::any_of(name.begin(), name.end(),
                      [](char c) { return c == ' ' || c == ':' || c == '\t'; })) {
        // Nothing was sent: a local error (never retried, never the key's fault). Never echo
        // the value: it may be a key.
        error = "request: invalid header";
        return false;
      }
      if (ours_to_set(name)) continue;
      agent = agent || beast::iequals(name, "user-agent");
      out.append(name).append(": "sv).append(value).append("\r\n"sv);
    }
    if (!agent) out.append("User-Agent: nyxgate\r\n"sv);
    bool body = !req_.body.empty() || verb_ == http::verb::post || verb_ == http::verb::put ||
                verb_ == http::verb::patch;
    if (body) {
      std::array<char, 24> digits;
      auto end = std::to_chars(digits.begin(), digits.end(), req_.body.size()).ptr;
      out.append("Content-Length: "sv)
          .append(digits.data(), static_cast<std::size_t>(end - digits.data()))
          .append("\r\n"sv);
    }
    out.append("\r\n"sv);
    if (body) out.append(req_.body);
    req_.body = {};
    return true;
  }

  // -- connecting ----------------------------------------------------------------

  void do_resolve() {
    resolve_timed_out_ = false;
    // Made on first use: most exchanges take a pooled connection and never resolve, and each
    // of the two looks its service up under the io_context's lock.
    if (!resolver_) resolver_.emplace(executor_);
    if (!resolve_timer_) resolve_timer_.emplace(executor_);
    resolve_timer_->expires_at(deadline_);
    resolve_timer_->async_wait([self = shared_from_this()](error_code ec) {
      if (ec) return;
      self->resolve_timed_out_ = true;
      self->resolver_->cancel();
    });
    resolver_->async_resolve(
        url_->host, url_->port,
        [self = shared_from_this()](error_code ec, tcp::resolver::results_type results) {
          self->on_resolve(ec, std::move(results));
        });
  }

  void on_resolve(error_code ec, tcp::resolver::results_type results) {
    resolve_timer_->cancel();
    if (ended_) return;
    if (resolve_timed_out_) return fail("timeout");
    if (ec) return fail("resolve: " + ec.message());

    conn_ = std::make_shared<connection>(executor_);
    // Beast reads at most the buffer's free capacity (512 bytes when empty): without room, a
    // streamed answer that arrived in one TLS record is handed over in 512-byte pieces.
    conn_->buffer.reserve(read_buffer_bytes);
    if (url_->tls) {
      conn_->tls_context = tls_context_;
      conn_->tls.emplace(executor_, *tls_context_);
      // Asio asks OpenSSL to free a connection's record buffers whenever they are empty, so
      // every request and every answer allocated (and zeroed) them again. A pooled connection
      // keeps its two buffers (about 34 KiB) instead.
      SSL_clear_mode(conn_->tls->native_handle(), SSL_MODE_RELEASE_BUFFERS);
      // RFC 6066: no IP literals in SNI.
      if (!is_ip_literal(url_->host) &&
          !SSL_set_tlsext_host_name(conn_->tls->native_handle(), url_->host.c_str()))
        return fail("tls: cannot set the server name");
      if (verify_) {
        conn_->tls->set_verify_mode(ssl::verify_peer);
        conn_->tls->set_verify_callback(host_name_check{ssl::host_name_verification(url_->host)});
      } else {
        conn_->tls->set_verify_mode(ssl::verify_none);
      }
    } else {
      conn_->plain.emplace(executor_);
    }
    conn_->tcp().expires_at(deadline_);
    conn_->tcp().async_connect(
        results,
        [self = shared_from_this()](error_code ec, const tcp::endpoint&) { self->on_connect(ec); });
  }

  void on_connect(error_code ec) {
    if (ended_) return;
    if (ec) return fail(ec == beast::error::timeout ? "timeout" : "connect: " + ec.message());
    error_code ignored;
    conn_->tcp().socket().set_option(tcp::no_delay(true), ignored);
    if (!url_->tls) {
      conn_->tcp().expires_never();
      return do_write();
    }
    conn_->tcp().expires_at(deadline_);
    conn_->tls->async_handshake(
        ssl::stream_base::client,
        [self = shared_from_this()](error_code ec) { self->on_handshake(ec); });
  }

  void on_handshake(error_code ec) {
    if (ended_) return;
    if (ec == beast::error::timeout) return fail("timeout");
    if (ec) return fail("tls: " + describe_tls_failure(ec, conn_->tls->native_handle()));
    conn_->tcp().expires_never();  // from here on the watchdog keeps the time
    if (tls_socket::adopt(conn_->tcp(), conn_->tls->native_handle()))
      conn_->tls_io.emplace(conn_->tcp(), conn_->tls->native_handle());
    do_write();
  }

  // -- the exchange ----------------------------------------------------------------

  void do_write() {
    std::size_t written = 0;
    if (conn_->tls_io) {
      // A request fits the socket's buffer as a rule: written here, it needs no Asio operation,
      // whose completion would be posted. A large one goes on the usual way from where it got.
      error_code ec;
      written = conn_->tls_io->write_now(asio::buffer(message_), ec);
      if (ec || written == message_.size()) return on_write(ec);
    }
    conn_->watch(deadline_);
    conn_->with_stream([&](auto& stream) {
      asio::async_write(
          stream, asio::buffer(message_) + written,
          [self = shared_from_this()](error_code ec, std::size_t) { self->on_write(ec); });
    });
  }

  void on_write(error_code ec) {
    if (ended_) return;
    if (ec && !timed_out(ec) && may_retry(ec)) return retry();
    if (timed_out(ec)) return fail("timeout");
    if (ec) return fail("write: " + ec.message());
    if (streaming_) return read_head();
    do_read();
  }

  // -- a streamed answer -------------------------------------------------------------

  void read_head() {
    stream_parser_.emplace();
    stream_parser_->header_limit(max_response_header_bytes);
    stream_parser_->body_limit(req_.max_response_bytes);
    conn_->watch(deadline_);
    conn_->with_stream([&](auto& stream) {
      http::async_read_header(
          stream, conn_->buffer, *stream_parser_,
          [self = shared_from_this()](error_code ec, std::size_t) { self->on_head(ec); });
    });
  }

  void on_head(error_code ec) {
    if (ended_) return;
    if (ec && !timed_out(ec) && !stream_parser_->got_some() && may_retry(ec)) return retry();
    if (timed_out(ec)) return fail("timeout");
    if (ec == http::error::header_limit) return fail("response header too large");
    if (ec) return fail("read: " + ec.message());
    head_sent_ = true;
    content_due_ = clock::now() + idle_timeout_;
    if (handlers_.on_head) handlers_.on_head(stream_parser_->head);
    if (ended_) return;  // cancelled from inside on_head
    read_body();
  }

  void read_body() {
    if (ended_) return;
    if (!paused_ && handlers_.hold && handlers_.hold()) paused_ = true;
    if (paused_) {
      read_wanted_ = true;
      conn_->unwatch();  // a held stream waits for its client, not for the upstream
      return;
    }
    if (stream_parser_->is_done()) return body_done();
    stream_parser_->lend(window_.data(), window_.size());
    if (conn_->buffer.size() > 0) {
      // What came with the head or the last read is parsed here, not by a Beast read whose
      // completion would be posted (an Asio handler per answer); more is read only once the
      // buffer has nothing the parser can use.
      error_code ec;
      parse_buffered(ec);
      if (ec || stream_parser_->is_done() || stream_parser_->room() < window_.size())
        return on_body(ec);
    }
    // Every wait ends by the exchange's deadline; bytes without content do not move it.
    conn_->watch(std::min(content_due_, deadline_));
    conn_->with_stream([&](auto& stream) {
      http::async_read_some(
          stream, conn_->buffer, *stream_parser_,
          [self = shared_from_this()](error_code ec, std::size_t) { self->on_body(ec); });
    });
  }

  void on_body(error_code ec) {
    if (ended_) return;
    if (ec == http::error::need_buffer) ec = {};
    if (!ec) parse_buffered(ec);
    auto n = window_.size() - stream_parser_->room();
    if (n > 0 && handlers_.on_data && handlers_.on_data(std::string_view{window_.data(), n}))
      content_due_ = clock::now() + idle_timeout_;
    if (ended_) return;  // cancelled from inside on_data
    if (ec) {
      bool timeout = timed_out(ec);
      close_connection();
      if (timeout) return end_stream("timeout");
      if (ec == http::error::body_limit) return end_stream("response too large");
      return end_stream(ec == http::error::partial_message || ec == asio::error::eof
                            ? std::string{"connection closed mid-body"}
                            : "read: " + ec.message());
    }
    if (stream_parser_->is_done()) return body_done();
    read_body();
  }

  /// A read hands over one chunk of a chunked body; what else arrived with it (a provider's
  /// events often come together, one chunk each) is parsed here into the same window, so the
  /// consumer gets one piece to translate and write to its client, not one per chunk. Parsing
  /// only: never waits for more bytes.
  void parse_buffered(error_code& ec) {
    auto& parser = *stream_parser_;
    while (conn_->buffer.size() > 0 && !parser.is_done() && parser.room() > 0) {
      auto used = parser.put(conn_->buffer.data(), ec);
      conn_->buffer.consume(used);
      if (ec == http::error::need_more || ec == http::error::need_buffer) ec = {};
      if (ec || used == 0) return;
    }
  }

  void body_done() {
    release_connection(*stream_parser_);
    end_stream("");
  }

  void end_stream(std::string error) {
    if (ended_) return;
    ended_ = true;
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started_).count();
    telemetry::log(
        telemetry::log_level::debug, "outbound stream",
        {{"host", url_->host}, {"path", url_->path}, {"duration_ms", ms}, {"error", error}});
    auto on_end = std::move(handlers_.on_end);
    auto keep = std::move(handlers_.keep);
    handlers_ = {};
    if (on_end) on_end(error);
  }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(max_response_header_bytes);
    parser_->body_limit(req_.max_response_bytes);
    if (verb_ == http::verb::head) parser_->skip(true);
    conn_->watch(deadline_);
    conn_->with_stream([&](auto& stream) {
      http::async_read(
          stream, conn_->buffer, *parser_,
          [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
    });
  }

  void on_read(error_code ec) {
    if (ended_) return;
    if (ec && !timed_out(ec) && !parser_->got_some() && may_retry(ec)) return retry();
    if (timed_out(ec)) return fail("timeout");
    if (ec == http::error::body_limit)
      return fail("response body exceeds " + std::to_string(req_.max_response_bytes) + " bytes");
    if (ec == http::error::header_limit) return fail("response header too large");
    if (ec) return fail("read: " + ec.message());

    auto out = std::move(parser_->out);
    // Pooled before `done` runs, so a caller's next request can already reuse it.
    release_connection(*parser_);
    finish(std::move(out));
  }

  // -- retry and completion ----------------------------------------------------------

  /// A failed operation ended by a deadline: the stream's (connecting) or the watchdog's.
  bool timed_out(error_code ec) const {
    return ec && (ec == beast::error::timeout || (conn_ && conn_->timed_out));
  }

  /// A pooled connection the upstream closed while idle fails on first use; only requests
  /// that are safe to send twice get a fresh connection.
  bool may_retry(error_code ec) const {
    if (!reused_ || retried_) return false;
    auto verb = verb_;
    // A streamed provider call is retried too: nothing of its answer arrived, and a pooled
    // connection the upstream closed while idle never reached it.
    if (verb != http::verb::get && verb != http::verb::head && !streaming_) return false;
    return ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == ssl::error::stream_truncated;
  }

  void retry() {
    retried_ = true;
    reused_ = false;
    close_connection();
    do_resolve();
  }

  /// After a complete answer: back to the pool when the connection can carry another
  /// request, closed otherwise.
  template <class Parser>
  void release_connection(const Parser& parser) {
    if (parser.keep_alive() && !parser.need_eof() && conn_->buffer.size() == 0 &&
        !conn_->holds_unread()) {
      conn_->unwatch();
      pool_->put(url_->pool_key, std::move(conn_));
    } else {
      close_connection();
    }
  }

  void close_connection() {
    if (!conn_) return;
    conn_->close();
    conn_.reset();
  }

  void fail(std::string error) {
    close_connection();
    if (streaming_) {
      if (ended_) return;
      if (!head_sent_) {
        head_sent_ = true;
        outbound_response head;
        head.error = error;
        if (handlers_.on_head) handlers_.on_head(head);
      }
      return end_stream(std::move(error));
    }
    outbound_response out;
    out.error = std::move(error);
    finish(std::move(out));
  }

  void finish(outbound_response out) {
    if (!done_) return;
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started_).count();
    // Method, host, path and outcome only: header values and queries may carry secrets.
    telemetry::log(telemetry::log_level::debug, "outbound request",
                   {{"method", req_.method},
                    {"host", url_->host},
                    {"path", url_->path},
                    {"status", out.status},
                    {"duration_ms", ms},
                    {"error", out.error}});
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(out));
  }

  /// The exchange's io_context is run by one thread (an io_runtime shard): its handlers never
  /// run concurrently, without a strand.
  shard_executor executor_;
  std::optional<asio::ip::basic_resolver<tcp, shard_executor>> resolver_;
  std::optional<shard_timer> resolve_timer_;
  std::shared_ptr<ssl::context> tls_context_;
  bool verify_;
  std::shared_ptr<connection_pool> pool_;
  outbound_request req_;
  std::function<void(outbound_response)> done_;

  /// The parsed URL (shared, read-only, kept by `url_holder_`); empty until it parsed.
  const parsed_url* url_ = &no_url;
  std::shared_ptr<const parsed_url> url_holder_;
  std::string message_;  ///< head and body as written
  http::verb verb_ = http::verb::unknown;
  std::optional<detail::response_reader> parser_;
  std::shared_ptr<connection> conn_;
  clock::time_point started_;
  clock::time_point deadline_;
  bool resolve_timed_out_ = false;
  bool reused_ = false;
  bool retried_ = false;

  // Streamed exchanges only; all touched on the executor's thread.
  bool streaming_ = false;
  std::chrono::milliseconds idle_timeout_{0};
  clock::time_point content_due_;  ///< the idle clock: the head or the last content, + idle
  stream_handlers handlers_;
  std::optional<detail::stream_reader> stream_parser_;
  std::array<char, stream_window> window_;  ///< not cleared: only read after a read filled it
  bool head_sent_ = false;
  bool ended_ = false;
  bool paused_ = false;
  bool read_wanted_ = false;
};

/// Exchanges on one io_context with its own pool (see shard_client).
class shard_impl final : public shard_client {
 public:
  shard_impl(asio::io_context& io, std::shared_ptr<ssl::context> tls_context, bool verify)
      : io_(io),
        tls_context_(std::move(tls_context)),
        verify_(verify),
        pool_(std::make_shared<connection_pool>()) {}

  void send(outbound_request req, std::function<void(outbound_response)> done) {
    std::make_shared<exchange>(io_, tls_context_, verify_, pool_, std::move(req), std::move(done))
        ->run();
  }

  std::shared_ptr<outbound_stream> open_stream(outbound_request req,
                                               std::chrono::milliseconds idle_timeout,
                                               stream_handlers handlers) override {
    auto x = std::make_shared<exchange>(io_, tls_context_, verify_, pool_, std::move(req),
                                        idle_timeout, std::move(handlers));
    x->run();
    return x;
  }

  std::size_t pooled_connections() const override { return pool_->size(); }

 private:
  asio::io_context& io_;
  std::shared_ptr<ssl::context> tls_context_;
  bool verify_;
  std::shared_ptr<connection_pool> pool_;
};

class client_impl final : public https_client {
 public:
  client_impl(asio::io_context& io, tls_options tls)
      : io_(io),
        verify_(tls.verify),
        tls_context_(std::make_shared<ssl::context>(ssl::context::tls_client)) {
    SSL_CTX_set_min_proto_version(tls_context_->native_handle(), TLS1_2_VERSION);
    error_code ec;
    tls_context_->set_default_verify_paths(ec);  // a missing system store is not fatal
    if (!tls.ca_file.empty()) {
      tls_context_->load_verify_file(tls.ca_file, ec);
      if (ec)
        throw std::runtime_error("tls: cannot load CA file " + tls.ca_file + ": " + ec.message());
    }
    tls_context_->set_verify_mode(verify_ ? ssl::verify_peer : ssl::verify_none);
  }

  void send(outbound_request req, std::function<void(outbound_response)> done) override {
    shard(req).send(std::move(req), std::move(done));
  }

  std::shared_ptr<outbound_stream> open_stream(outbound_request req,
                                               std::chrono::milliseconds idle_timeout,
                                               stream_handlers handlers) override {
    return shard(req).open_stream(std::move(req), idle_timeout, std::move(handlers));
  }

  std::size_t pooled_connections() const override {
    std::lock_guard lock{mutex_};
    std::size_t n = 0;
    for (const auto& [io, shard] : shards_) n += shard->pooled_connections();
    return n;
  }

  std::shared_ptr<shard_client> for_shard(asio::io_context& io) override {
    return std::make_shared<shard_impl>(io, tls_context_, verify_);
  }

 private:
  /// The exchanges of `req.context` (else the calling thread's): the map is shared by every
  /// thread, each pool only by its own io_context's exchanges.
  shard_impl& shard(const outbound_request& req) {
    auto& io = req.context ? *req.context : runtime::local_context(io_);
    std::lock_guard lock{mutex_};
    auto& slot = shards_[&io];
    if (!slot) slot = std::make_unique<shard_impl>(io, tls_context_, verify_);
    return *slot;
  }

  asio::io_context& io_;
  bool verify_;
  std::shared_ptr<ssl::context> tls_context_;
  mutable std::mutex mutex_;
  std::map<const asio::io_context*, std::unique_ptr<shard_impl>> shards_;
};

}  // namespace

std::shared_ptr<https_client> https_client::create(asio::io_context& io, tls_options tls) {
  return std::make_shared<client_impl>(io, std::move(tls));
}

asio::awaitable<outbound_response> https_client::async_send(outbound_request req) {
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(outbound_response)>(
      [this](auto handler, outbound_request r) {
        // std::function needs a copyable callable; the coroutine's handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        send(std::move(r), [shared](outbound_response res) {
          auto ex = asio::get_associated_executor(*shared);
          asio::dispatch(ex, [shared, res = std::move(res)]() mutable {
            std::move (*shared)(std::move(res));
          });
        });
      },
      asio::use_awaitable, std::move(req));
}

}  // namespace nyxgate::net
