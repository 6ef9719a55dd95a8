#include "net/http/server.hpp"

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "net/http/session.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

namespace {

using detail::server_connection;
using detail::server_core;
using detail::shard_socket;

class http_server_impl final : public http_server,
                               public std::enable_shared_from_this<http_server_impl> {
 public:
  http_server_impl(asio::io_context& ctx, tcp::endpoint endpoint, server_limits limits,
                   http_handler handler, request_id_fn new_request_id,
                   std::vector<asio::io_context*> session_contexts)
      : session_contexts_(std::move(session_contexts)),
        acceptor_(asio::make_strand(ctx)),
        retry_timer_(acceptor_.get_executor()),
        drain_timer_(acceptor_.get_executor()),
        core_(std::make_shared<server_core>()) {
    core_->limits = limits;
    core_->handler = std::move(handler);
    core_->new_request_id = new_request_id;
    if (session_contexts_.empty()) session_contexts_.push_back(&ctx);
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
                     if (self->drained_) {  // a repeated call after the drain finished
                       if (done) done();
                       return;
                     }
                     if (done) self->done_.push_back(std::move(done));
                     if (self->shutting_down_)
                       return;  // the first call's grace stands; `done` joins it
                     self->shutting_down_ = true;
                     error_code ignored;
                     self->acceptor_.close(ignored);
                     self->retry_timer_.cancel();
                     self->core_->draining = true;
                     for (auto& s : self->live_sessions()) s->drain();
                     self->wait_drained(clock::now() + grace);
                   });
  }

 private:
  std::vector<std::shared_ptr<server_connection>> live_sessions() {
    std::vector<std::shared_ptr<server_connection>> out;
    std::lock_guard lock(core_->mutex);
    for (auto it = core_->connections.begin(); it != core_->connections.end();) {
      if (auto s = it->lock()) {
        out.push_back(std::move(s));
        ++it;
      } else {
        it = core_->connections.erase(it);
      }
    }
    return out;
  }

  void wait_drained(clock::time_point deadline) {
    if (core_->open.load() > 0 && clock::now() >= deadline && !forced_) {
      // Sessions close on their own shards: `done` waits (briefly) until they have.
      forced_ = true;
      for (auto& s : live_sessions()) s->force_close();
      deadline = clock::now() + std::chrono::seconds(1);
    }
    if (core_->open.load() == 0 || clock::now() >= deadline) {
      drained_ = true;
      auto done = std::move(done_);
      done_.clear();
      for (auto& d : done) d();
      return;
    }
    drain_timer_.expires_after(std::chrono::milliseconds(10));
    drain_timer_.async_wait(
        [self = shared_from_this(), deadline](error_code) { self->wait_drained(deadline); });
  }

  void do_accept() {
    auto& shard = *session_contexts_[accepted_ % session_contexts_.size()];
    // One thread runs each shard: a session needs no strand of its own.
    acceptor_.async_accept(shard, [self = shared_from_this()](error_code ec, shard_socket socket) {
      self->on_accept(ec, std::move(socket));
    });
  }

  void on_accept(error_code ec, shard_socket socket) {
    if (shutting_down_ || !acceptor_.is_open()) return;
    if (ec) {
      // EMFILE and friends: keep the loop alive, give the process a moment to free descriptors.
      telemetry::log_warn("accept failed", {{"error", ec.message()}});
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec && !self->shutting_down_) self->do_accept();
      });
      return;
    }
    // Accept always, then refuse with an answer: a client gets a clear 503, not a hang.
    bool over = core_->open.load() >= core_->limits.max_connections;
    ++accepted_;
    detail::start_session(std::move(socket), core_, over);
    do_accept();
  }

  std::vector<asio::io_context*> session_contexts_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  asio::steady_timer drain_timer_;
  std::shared_ptr<server_core> core_;
  std::vector<std::function<void()>> done_;
  bool shutting_down_ = false;
  bool drained_ = false;
  bool forced_ = false;  ///< the grace ran out and every session was told to close
  unsigned short port_ = 0;
  std::uint64_t accepted_ = 0;
};

tcp::endpoint parse_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("listen address '" + listen + "' must be host:port");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "*") host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("listen address: '" + host + "' is not an IP address");
  std::string port = listen.substr(colon + 1);
  unsigned long value = 0;
  bool numeric = !port.empty() && port.size() <= 5 &&
                 port.find_first_not_of("0123456789") == std::string::npos;
  if (numeric) value = std::stoul(port);
  if (!numeric || value > 65535)
    throw std::runtime_error("listen address: '" + port + "' is not a port number");
  return {address, static_cast<unsigned short>(value)};
}

}  // namespace

std::shared_ptr<http_server> http_server::create(asio::io_context& ctx, const std::string& listen,
                                                 server_limits limits, http_handler handler,
                                                 request_id_fn new_request_id,
                                                 std::vector<asio::io_context*> session_contexts) {
  return std::make_shared<http_server_impl>(ctx, parse_listen(listen), limits, std::move(handler),
                                            new_request_id, std::move(session_contexts));
}

}  // namespace nyxgate::net
