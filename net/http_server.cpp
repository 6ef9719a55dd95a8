#include "net/http_server.hpp"

#include <atomic>
#include <list>
#include <mutex>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "identity/token.hpp"
#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"

namespace nyxgate::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

namespace {

class session;

/// What sessions share with the listener: limits, handler, and the set of live sessions.
struct server_core {
  server_limits limits;
  http_handler handler;
  std::atomic<std::size_t> open{0};
  std::atomic<bool> draining{false};
  std::mutex mutex;
  std::list<std::weak_ptr<session>> sessions;
};

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

std::string error_body(std::string_view message, std::string_view code) {
  std::string out = R"({"error":{"message":")";
  telemetry::append_json_escaped(out, message);
  out += R"(","type":"invalid_request_error","code":")";
  out += code;
  out += R"(","param":null}})";
  return out;
}

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, std::shared_ptr<server_core> core)
      : stream_(std::move(socket)), deadline_(stream_.get_executor()), core_(std::move(core)) {
    error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    stream_.socket().set_option(tcp::no_delay(true), ec);
    core_->open.fetch_add(1);
    telemetry::metrics().http_open_connections.add();
  }

  ~session() {
    core_->open.fetch_sub(1);
    telemetry::metrics().http_open_connections.sub();
  }

  void run(bool over_capacity) {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this(), over_capacity] {
      if (over_capacity) {
        telemetry::metrics().http_rejected_connections.inc();
        self->started_ = clock::now();
        self->send_error(503, "server at connection capacity, retry shortly", "overloaded");
        return;
      }
      self->do_read_header(true);
    });
  }

  /// Called on shutdown: idle connections close now, busy ones after their answer.
  void drain() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->close_after_response_ = true;
      if (self->phase_ == phase::idle || self->phase_ == phase::reading) self->close();
    });
  }

  void force_close() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
  }

 private:
  enum class phase { idle, reading, handling, writing, closed };

  // -- reading -----------------------------------------------------------------

  void do_read_header(bool first) {
    if (phase_ == phase::closed) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(core_->limits.max_header_bytes));
    parser_->body_limit(core_->limits.max_body_bytes);
    if (!first && buffer_.size() == 0) {
      // Keep-alive: wait (up to the idle timeout) for the next request's first byte, then give
      // its header the header timeout, so a slow client cannot stretch a request.
      phase_ = phase::idle;
      arm(core_->limits.idle_timeout, timeout_kind::idle);
      stream_.socket().async_wait(tcp::socket::wait_read,
                                  [self = shared_from_this()](error_code ec) {
                                    if (ec || self->phase_ == phase::closed) return self->close();
                                    self->start_header_read();
                                  });
      return;
    }
    start_header_read();
  }

  void start_header_read() {
    phase_ = phase::reading;
    started_ = clock::now();
    arm(core_->limits.header_timeout, timeout_kind::header);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, std::size_t n) { self->on_header(ec, n); });
  }

  void on_header(error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    auto& req = parser_->get();
    if (req.target().size() > core_->limits.max_url_bytes)
      return send_error(
          414, "request URL exceeds " + std::to_string(core_->limits.max_url_bytes) + " bytes",
          "url_too_long");
    if (parser_->is_done()) return on_request();
    arm(core_->limits.body_timeout, timeout_kind::body);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, std::size_t) {
                       if (ec) return self->on_read_error(ec);
                       self->on_request();
                     });
  }

  void on_read_error(error_code ec) {
    if (phase_ == phase::closed) return;
    if (timed_out_ != timeout_kind::none) {
      auto kind = timed_out_;
      timed_out_ = timeout_kind::none;
      if (kind == timeout_kind::idle) return close();
      telemetry::metrics().http_timeouts.inc();
      return send_error(408,
                        kind == timeout_kind::header ? "request header not received in time"
                                                     : "request body not received in time",
                        "request_timeout");
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      return close();
    if (ec == http::error::header_limit)
      return send_error(
          431,
          "request header exceeds " + std::to_string(core_->limits.max_header_bytes) + " bytes",
          "header_too_large");
    if (ec == http::error::body_limit)
      return send_error(
          413, "request body exceeds " + std::to_string(core_->limits.max_body_bytes) + " bytes",
          "body_too_large");
    if (ec == http::error::partial_message) return close();
    send_error(400, "malformed HTTP request: " + ec.message(), "bad_request");
  }

  // -- handling ----------------------------------------------------------------

  void on_request() {
    disarm();
    phase_ = phase::handling;
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    method_ = std::string{msg.method_string()};
    target_ = std::string{msg.target()};
    bytes_in_ = msg.body().size();

    http_request req;
    req.method = method_;
    req.target = target_;
    req.body = std::move(msg.body());
    req.remote_address = remote_;
    req.received_at = started_;
    req.headers.reserve(std::distance(msg.begin(), msg.end()));
    for (const auto& field : msg) {
      std::string name{field.name_string()};
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers.emplace_back(std::move(name), std::string{field.value()});
    }
    auto client_id = req.header("x-request-id");
    request_id_ = valid_request_id(client_id) ? std::string{client_id} : identity::new_request_id();
    req.request_id = request_id_;

    auto seq = ++seq_;
    auto once = std::make_shared<std::atomic<bool>>(false);
    // The pending answer keeps the session alive, as a pending read or write would.
    respond_fn respond = [self = shared_from_this(), seq, once](http_response response) {
      if (once->exchange(true)) return;
      asio::post(self->stream_.get_executor(),
                 [self, seq, response = std::move(response)]() mutable {
                   if (seq != self->seq_ || self->phase_ != phase::handling) return;
                   self->send(std::move(response));
                 });
    };
    core_->handler(std::move(req), std::move(respond));
  }

  // -- writing -----------------------------------------------------------------

  void send(http_response response) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(response.status);
    res->set(http::field::server, "nyxgate");
    res->set(http::field::content_type, response.content_type);
    res->set("x-request-id", request_id_);
    for (auto& [k, v] : response.headers) res->set(k, v);
    res->body() = std::move(response.body);
    bool close = !keep_alive_ || close_after_response_ || core_->draining.load();
    res->keep_alive(!close);
    res->prepare_payload();
    route_ = response.route;
    status_ = response.status;
    write(std::move(res), close);
  }

  void send_error(unsigned status, const std::string& message, std::string_view code) {
    if (phase_ == phase::closed) return;
    if (method_.empty() && parser_ && parser_->is_header_done()) {
      method_ = std::string{parser_->get().method_string()};
      target_ = std::string{parser_->get().target()};
    }
    if (request_id_.empty()) request_id_ = identity::new_request_id();
    keep_alive_ = false;
    http_response r;
    r.status = status;
    r.body = error_body(message, code);
    send(std::move(r));
  }

  void write(std::shared_ptr<http::response<http::string_body>> res, bool close) {
    phase_ = phase::writing;
    disarm();
    stream_.expires_after(core_->limits.write_timeout);
    bytes_out_ = res->body().size();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, close](error_code ec, std::size_t) {
                        self->stream_.expires_never();
                        self->log_request();
                        if (ec || close) return self->close();
                        self->reset_request();
                        self->do_read_header(false);
                      });
  }

  void log_request() {
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started_);
    telemetry::metrics().count_request(route_, status_, micros.count());
    // The path only: a query string can carry secrets.
    std::string_view path = target_;
    path = path.substr(0, path.find('?'));
    telemetry::log_info("request", {{"request_id", request_id_},
                                    {"method", method_},
                                    {"path", path},
                                    {"status", status_},
                                    {"duration_us", static_cast<long long>(micros.count())},
                                    {"remote", remote_},
                                    {"bytes_in", bytes_in_},
                                    {"bytes_out", bytes_out_}});
  }

  void reset_request() {
    method_.clear();
    target_.clear();
    request_id_.clear();
    route_ = telemetry::route_kind::other;
    status_ = 0;
    bytes_in_ = bytes_out_ = 0;
    if (close_after_response_ || core_->draining.load()) close();
  }

  // -- deadlines ---------------------------------------------------------------

  enum class timeout_kind { none, idle, header, body };

  void arm(std::chrono::milliseconds after, timeout_kind kind) {
    timed_out_ = timeout_kind::none;
    auto gen = ++timer_gen_;
    deadline_.expires_after(after);
    deadline_.async_wait([self = shared_from_this(), gen, kind](error_code ec) {
      if (ec || gen != self->timer_gen_ || self->phase_ == phase::closed) return;
      // Cancelling the read lets its handler answer 408 on a still-open socket.
      self->timed_out_ = kind;
      error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
  }

  void disarm() {
    ++timer_gen_;
    deadline_.cancel();
  }

  void close() {
    if (phase_ == phase::closed) return;
    phase_ = phase::closed;
    disarm();
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  asio::steady_timer deadline_;
  std::shared_ptr<server_core> core_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  phase phase_ = phase::idle;
  timeout_kind timed_out_ = timeout_kind::none;
  std::uint64_t timer_gen_ = 0;
  std::uint64_t seq_ = 0;
  bool keep_alive_ = true;
  bool close_after_response_ = false;
  clock::time_point started_ = clock::now();
  std::string remote_;
  std::string method_;
  std::string target_;
  std::string request_id_;
  telemetry::route_kind route_ = telemetry::route_kind::other;
  unsigned status_ = 0;
  std::size_t bytes_in_ = 0;
  std::size_t bytes_out_ = 0;
};

class http_server_impl final : public http_server,
                               public std::enable_shared_from_this<http_server_impl> {
 public:
  http_server_impl(asio::io_context& ctx, tcp::endpoint endpoint, server_limits limits,
                   http_handler handler)
      : ctx_(ctx),
        acceptor_(asio::make_strand(ctx)),
        retry_timer_(acceptor_.get_executor()),
        drain_timer_(ctx),
        core_(std::make_shared<server_core>()) {
    core_->limits = limits;
    core_->handler = std::move(handler);
    error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      throw std::runtime_error("cannot listen on " + endpoint.address().to_string() + ":" +
                               std::to_string(endpoint.port()) + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
  }

  unsigned short port() const override { return port_; }
  std::size_t open_connections() const override { return core_->open.load(); }

  void start() override {
    asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
  }

  void shutdown(std::chrono::milliseconds grace, std::function<void()> done) override {
    asio::dispatch(acceptor_.get_executor(),
                   [self = shared_from_this(), grace, done = std::move(done)]() mutable {
                     error_code ec;
                     self->acceptor_.close(ec);
                     self->core_->draining = true;
                     for (auto& s : self->live_sessions()) s->drain();
                     self->wait_drained(clock::now() + grace, std::move(done));
                   });
  }

 private:
  std::vector<std::shared_ptr<session>> live_sessions() {
    std::vector<std::shared_ptr<session>> out;
    std::lock_guard lock(core_->mutex);
    for (auto it = core_->sessions.begin(); it != core_->sessions.end();) {
      if (auto s = it->lock()) {
        out.push_back(std::move(s));
        ++it;
      } else {
        it = core_->sessions.erase(it);
      }
    }
    return out;
  }

  void wait_drained(clock::time_point deadline, std::function<void()> done) {
    if (core_->open.load() == 0 || clock::now() >= deadline) {
      for (auto& s : live_sessions()) s->force_close();
      if (done) done();
      return;
    }
    drain_timer_.expires_after(std::chrono::milliseconds(20));
    drain_timer_.async_wait(
        [self = shared_from_this(), deadline, done = std::move(done)](error_code) mutable {
          self->wait_drained(deadline, std::move(done));
        });
  }

  void do_accept() {
    acceptor_.async_accept(asio::make_strand(ctx_),
                           [self = shared_from_this()](error_code ec, tcp::socket socket) {
                             self->on_accept(ec, std::move(socket));
                           });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open()) return;
    if (ec) {
      // EMFILE and friends: keep the loop alive, give the process a moment to free descriptors.
      telemetry::log_warn("accept failed", {{"error", ec.message()}});
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([self = shared_from_this()](error_code) { self->do_accept(); });
      return;
    }
    bool over = core_->open.load() >= core_->limits.max_connections;
    auto s = std::make_shared<session>(std::move(socket), core_);
    {
      std::lock_guard lock(core_->mutex);
      if (++accepted_ % 256 == 0)
        core_->sessions.remove_if([](const std::weak_ptr<session>& w) { return w.expired(); });
      core_->sessions.push_back(s);
    }
    s->run(over);
    do_accept();
  }

  asio::io_context& ctx_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  asio::steady_timer drain_timer_;
  std::shared_ptr<server_core> core_;
  unsigned short port_ = 0;
  std::uint64_t accepted_ = 0;
};

tcp::endpoint parse_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("server.listen must be host:port");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "*") host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("server.listen: '" + host + "' is not an IP address");
  return {address, static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))};
}

}  // namespace

std::shared_ptr<http_server> http_server::create(asio::io_context& ctx, const std::string& listen,
                                                 server_limits limits, http_handler handler) {
  return std::make_shared<http_server_impl>(ctx, parse_listen(listen), limits, std::move(handler));
}

}  // namespace nyxgate::net
