#include "net/client/exchange.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "net/http/readers.hpp"
#include "net/http/types.hpp"
#include "runtime/io_runtime.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::net::detail {

namespace {

/// Each streamed read delivers at most this much.
constexpr std::size_t stream_window = 16 << 10;
constexpr std::uint32_t max_response_header_bytes = 64 << 10;

namespace http = beast::http;
using shard_timer = asio::basic_waitable_timer<clock, asio::wait_traits<clock>, shard_executor>;

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

/// Framing and routing headers the client writes itself; a caller's copy is dropped.
bool ours_to_set(std::string_view name) {
  return header_name_in(name, {"host", "content-length", "connection", "transfer-encoding"});
}

/// What an exchange shares with the others: resolve, connect, handshake, write, all under one
/// deadline, the pooled connection's one resend, and giving the connection back. How the
/// answer is read is the subclass's: whole (`whole_exchange`) or streamed (`streamed_exchange`).
/// Kept alive by its pending operation.
class exchange : public std::enable_shared_from_this<exchange> {
 public:
  exchange(const exchange_site& site, outbound_request req)
      : executor_(site.io.get_executor()),
        tls_context_(site.tls),
        verify_(site.verify),
        pool_(site.pool),
        req_(std::move(req)) {}
  virtual ~exchange() = default;

  /// Never completes inline: `done` always runs on an I/O thread. From the exchange's own
  /// thread it starts after the caller's handler, in the same Asio handler (runtime::run_soon).
  void run() {
    if (runtime::current_context() != &executor_.context())
      return asio::post(executor_, [self = shared_from_this()] { self->start(); });
    runtime::run_soon([self = shared_from_this()] { self->start(); });
  }

 protected:
  /// Where the connection came from. A pooled one the upstream closed while idle fails on
  /// first use; then the request goes once more, on a fresh one.
  enum class origin : std::uint8_t { fresh, pooled, fresh_again };

  /// After the request went out: reads the answer.
  virtual void read_answer() = 0;
  /// Ends the exchange with a transport failure.
  virtual void fail(std::string error) = 0;
  /// True once the exchange's outcome went out: late handlers do nothing.
  virtual bool ended() const { return false; }
  /// Whether a request of any method may go twice after a pooled connection failed.
  virtual bool resends_any_method() const { return false; }

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
      origin_ = origin::pooled;
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
    if (ended()) return;
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
    if (ended()) return;
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
    if (ended()) return;
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
    if (ended()) return;
    if (ec && !timed_out(ec) && may_retry(ec)) return retry();
    if (timed_out(ec)) return fail("timeout");
    if (ec) return fail("write: " + ec.message());
    read_answer();
  }

  /// A failed operation ended by a deadline: the stream's (connecting) or the watchdog's.
  bool timed_out(error_code ec) const {
    return ec && (ec == beast::error::timeout || (conn_ && conn_->timed_out));
  }

  /// A pooled connection the upstream closed while idle fails on first use; only requests
  /// that are safe to send twice get a fresh connection.
  bool may_retry(error_code ec) const {
    if (origin_ != origin::pooled) return false;
    if (verb_ != http::verb::get && verb_ != http::verb::head && !resends_any_method())
      return false;
    return ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == ssl::error::stream_truncated;
  }

  void retry() {
    origin_ = origin::fresh_again;
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

  /// The exchange's io_context is run by one thread (an io_runtime shard): its handlers never
  /// run concurrently, without a strand.
  shard_executor executor_;
  std::optional<asio::ip::basic_resolver<tcp, shard_executor>> resolver_;
  std::optional<shard_timer> resolve_timer_;
  std::shared_ptr<ssl::context> tls_context_;
  bool verify_;
  std::shared_ptr<connection_pool> pool_;
  outbound_request req_;

  /// The parsed URL (shared, read-only, kept by `url_holder_`); empty until it parsed.
  const parsed_url* url_ = &no_url;
  std::shared_ptr<const parsed_url> url_holder_;
  std::string message_;  ///< head and body as written
  http::verb verb_ = http::verb::unknown;
  std::shared_ptr<connection> conn_;
  clock::time_point started_;
  clock::time_point deadline_;
  origin origin_ = origin::fresh;
  bool resolve_timed_out_ = false;
};

/// An exchange whose answer is read whole and handed to `done` once.
class whole_exchange final : public exchange {
 public:
  whole_exchange(const exchange_site& site, outbound_request req,
                 std::function<void(outbound_response)> done)
      : exchange(site, std::move(req)), done_(std::move(done)) {}

 private:
  std::shared_ptr<whole_exchange> self() {
    return std::static_pointer_cast<whole_exchange>(shared_from_this());
  }

  void read_answer() override {
    parser_.emplace();
    parser_->header_limit(max_response_header_bytes);
    parser_->body_limit(req_.max_response_bytes);
    if (verb_ == http::verb::head) parser_->skip(true);
    conn_->watch(deadline_);
    conn_->with_stream([&](auto& stream) {
      http::async_read(stream, conn_->buffer, *parser_,
                       [self = self()](error_code ec, std::size_t) { self->on_read(ec); });
    });
  }

  void on_read(error_code ec) {
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

  void fail(std::string error) override {
    close_connection();
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

  std::function<void(outbound_response)> done_;
  std::optional<detail::response_reader> parser_;
};

/// An exchange whose answer goes to its handlers piece by piece; its own handle for the
/// caller, which keeps it alive (a paused exchange has no pending operation). Dropping the
/// handle does not cancel it.
class streamed_exchange final : public exchange, public outbound_stream {
 public:
  streamed_exchange(const exchange_site& site, outbound_request req,
                    std::chrono::milliseconds idle_timeout, stream_handlers handlers)
      : exchange(site, std::move(req)),
        idle_timeout_(idle_timeout),
        handlers_(std::move(handlers)) {}

  // -- control from any thread -----------------------------------------------------------

  void cancel() override {
    asio::post(executor_, [self = self()] {
      if (self->ended()) return;
      if (self->resolver_) self->resolver_->cancel();
      if (self->resolve_timer_) self->resolve_timer_->cancel();
      // Close, but keep the connection: an operation may be pending on it, and it still
      // refers to the stream, buffer and parser. Its handler sees the exchange ended and does
      // nothing; the connection dies with the exchange.
      if (self->conn_) self->conn_->close();
      self->end_before_head("cancelled");
    });
  }

  void pause() override {
    asio::post(executor_, [self = self()] {
      if (self->flow_ == flow::reading) self->flow_ = flow::paused;
    });
  }

  void resume() override {
    asio::post(executor_, [self = self()] {
      bool read_due = self->flow_ == flow::paused_read_due;
      self->flow_ = flow::reading;
      // The time held counts against the client, not the upstream: the idle clock restarts.
      self->content_due_ = clock::now() + self->idle_timeout_;
      if (read_due) self->read_body();
    });
  }

 private:
  /// How far the answer got: the head goes to `on_head` once, then the body, then `on_end`.
  enum class progress : std::uint8_t { awaiting_head, reading_body, ended };
  /// Back-pressure: reading, or paused (by `pause`, or `hold` asked before a read) with or
  /// without a read waiting for `resume`.
  enum class flow : std::uint8_t { reading, paused, paused_read_due };

  std::shared_ptr<streamed_exchange> self() {
    return std::static_pointer_cast<streamed_exchange>(shared_from_this());
  }

  bool ended() const override { return progress_ == progress::ended; }
  /// A provider call goes again too: nothing of its answer arrived, and a pooled connection
  /// the upstream closed while idle never reached it.
  bool resends_any_method() const override { return true; }

  void fail(std::string error) override {
    close_connection();
    if (ended()) return;
    end_before_head(std::move(error));
  }

  /// Ends the stream; a head not delivered yet goes first, with status 0 and the error.
  void end_before_head(std::string error) {
    if (progress_ == progress::awaiting_head) {
      progress_ = progress::reading_body;
      outbound_response head;
      head.error = error;
      if (handlers_.on_head) handlers_.on_head(head);
    }
    end_stream(std::move(error));
  }

  void read_answer() override {
    stream_parser_.emplace();
    stream_parser_->header_limit(max_response_header_bytes);
    stream_parser_->body_limit(req_.max_response_bytes);
    conn_->watch(deadline_);
    conn_->with_stream([&](auto& stream) {
      http::async_read_header(stream, conn_->buffer, *stream_parser_,
                              [self = self()](error_code ec, std::size_t) { self->on_head(ec); });
    });
  }

  void on_head(error_code ec) {
    if (ended()) return;
    if (ec && !timed_out(ec) && !stream_parser_->got_some() && may_retry(ec)) return retry();
    if (timed_out(ec)) return fail("timeout");
    if (ec == http::error::header_limit) return fail("response header too large");
    if (ec) return fail("read: " + ec.message());
    progress_ = progress::reading_body;
    content_due_ = clock::now() + idle_timeout_;
    if (handlers_.on_head) handlers_.on_head(stream_parser_->head);
    if (ended()) return;  // cancelled from inside on_head
    read_body();
  }

  void read_body() {
    if (ended()) return;
    if (flow_ == flow::reading && handlers_.hold && handlers_.hold()) flow_ = flow::paused;
    if (flow_ != flow::reading) {
      flow_ = flow::paused_read_due;
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
      http::async_read_some(stream, conn_->buffer, *stream_parser_,
                            [self = self()](error_code ec, std::size_t) { self->on_body(ec); });
    });
  }

  void on_body(error_code ec) {
    if (ended()) return;
    if (ec == http::error::need_buffer) ec = {};
    if (!ec) parse_buffered(ec);
    auto n = window_.size() - stream_parser_->room();
    if (n > 0 && handlers_.on_data && handlers_.on_data(std::string_view{window_.data(), n}))
      content_due_ = clock::now() + idle_timeout_;
    if (ended()) return;  // cancelled from inside on_data
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
    if (ended()) return;
    progress_ = progress::ended;
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

  std::chrono::milliseconds idle_timeout_{0};
  clock::time_point content_due_;  ///< the idle clock: the head or the last content, + idle
  stream_handlers handlers_;
  std::optional<detail::stream_reader> stream_parser_;
  std::array<char, stream_window> window_;  ///< not cleared: only read after a read filled it
  progress progress_ = progress::awaiting_head;
  flow flow_ = flow::reading;
};

}  // namespace

void send_whole(const exchange_site& site, outbound_request req,
                std::function<void(outbound_response)> done) {
  std::make_shared<whole_exchange>(site, std::move(req), std::move(done))->run();
}

std::shared_ptr<outbound_stream> open_streamed(const exchange_site& site, outbound_request req,
                                               std::chrono::milliseconds idle_timeout,
                                               stream_handlers handlers) {
  auto x =
      std::make_shared<streamed_exchange>(site, std::move(req), idle_timeout, std::move(handlers));
  x->run();
  return x;
}

}  // namespace nyxgate::net::detail
