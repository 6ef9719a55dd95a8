#include "net/ws/session.hpp"

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"

namespace nyxgate::net::detail {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

/// How long a close handshake may take before the socket is simply closed.
constexpr std::chrono::seconds close_grace{2};
/// At the end of the shutdown grace, streams still running get this long for their last word
/// (an error event) before the close frame; the server waits a second for that.
constexpr std::chrono::milliseconds last_word_timeout{300};

class ws_session final : public server_connection,
                         public ws_connection,
                         public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(beast::tcp_stream stream, http::request<http::string_body> upgrade,
             std::shared_ptr<ws_endpoint> endpoint, std::shared_ptr<server_core> core,
             std::string request_id)
      : ws_(std::move(stream)),
        upgrade_(std::move(upgrade)),
        endpoint_(std::move(endpoint)),
        core_(std::move(core)),
        request_id_(std::move(request_id)),
        auth_timer_(ws_.get_executor()),
        stuck_timer_(ws_.get_executor()),
        stop_timer_(ws_.get_executor()),
        close_timer_(ws_.get_executor()) {
    core_->open.fetch_add(1);
    telemetry::metrics().http_open_connections.add();
    telemetry::metrics().ws_open_sockets.add();
  }

  ~ws_session() override {
    telemetry::metrics().ws_queued_bytes.sub(static_cast<std::int64_t>(queued_.load()));
    telemetry::metrics().ws_open_sockets.sub();
    telemetry::metrics().http_open_connections.sub();
    core_->open.fetch_sub(1);
  }

  void start() {
    asio::dispatch(ws_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
  }

  // -- server_connection -------------------------------------------------------------

  void drain() override {
    asio::dispatch(ws_.get_executor(), [self = shared_from_this()] {
      if (self->endpoint_ && self->open_) self->endpoint_->on_shutdown();
    });
  }

  void force_close() override {
    asio::dispatch(ws_.get_executor(), [self = shared_from_this()] {
      if (self->finished_ || self->close_pending_ || !self->endpoint_ || !self->open_)
        return self->begin_close(1001, "server shutting down");
      self->endpoint_->on_stopping();
      self->stop_timer_.expires_after(last_word_timeout);
      self->stop_timer_.async_wait([self](error_code ec) {
        if (!ec) self->begin_close(1001, "server shutting down");
      });
    });
  }

  // -- ws_connection (any thread) ------------------------------------------------------

  bool send(std::string text) override {
    bool start_write = false;
    bool over_limit = false;
    {
      std::lock_guard lock(mutex_);
      if (closing_) return false;
      auto size = text.size();
      queue_.push_back(std::move(text));
      auto now = queued_.fetch_add(size, std::memory_order_relaxed) + size;
      telemetry::metrics().ws_queued_bytes.add(static_cast<std::int64_t>(size));
      start_write = !std::exchange(writing_, true);
      over_limit = now > core_->limits.ws_max_queued_bytes;
    }
    if (over_limit) {
      telemetry::metrics().ws_slow_reader_closes.inc();
      asio::dispatch(ws_.get_executor(), [self = shared_from_this()] {
        self->begin_close(1008, "slow reader: outbound queue limit reached", true);
      });
      return false;
    }
    if (start_write)
      asio::post(ws_.get_executor(), [self = shared_from_this()] { self->do_write(); });
    return true;
  }

  std::size_t queued_bytes() const override { return queued_.load(std::memory_order_relaxed); }

  void on_drained(std::function<void()> fn) override {
    std::lock_guard lock(mutex_);
    if (!closing_) drained_.push_back(std::move(fn));
  }

  void authenticated() override {
    asio::dispatch(ws_.get_executor(), [self = shared_from_this()] {
      self->authed_ = true;
      self->auth_timer_.cancel();
    });
  }

  void dispatch(std::function<void()> fn) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), fn = std::move(fn)] {
      if (!self->finished_) fn();
    });
  }

  void close(std::uint16_t code, std::string reason) override {
    asio::dispatch(ws_.get_executor(),
                   [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
                     self->begin_close(code, std::move(reason));
                   });
  }

 private:
  // -- opening -------------------------------------------------------------------------

  void do_accept() {
    const auto& limits = core_->limits;
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(10);
    timeouts.idle_timeout = limits.ws_idle_timeout;
    timeouts.keep_alive_pings = true;  // a ping at half the idle timeout keeps live peers
    ws_.set_option(timeouts);
    ws_.set_option(
        websocket::stream_base::decorator([id = request_id_](websocket::response_type& res) {
          res.set(http::field::server, "nyxgate");
          res.set("x-request-id", id);
        }));
    ws_.read_message_max(limits.ws_max_message_bytes);
    ws_.auto_fragment(false);
    ws_.text(true);
    ws_.async_accept(upgrade_, [self = shared_from_this()](error_code ec) { self->on_accept(ec); });
  }

  void on_accept(error_code ec) {
    upgrade_ = {};
    if (ec) {
      telemetry::log_info("websocket handshake failed",
                          {{"request_id", request_id_}, {"error", ec.message()}});
      return finish();
    }
    open_ = true;
    opened_at_ = clock::now();
    endpoint_->on_open(shared_from_this());
    if (!authed_ && !closing_now()) {
      auth_timer_.expires_after(core_->limits.ws_auth_timeout);
      auth_timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (ec || self->authed_) return;
        self->begin_close(1008, "authentication timeout");
      });
    }
    if (core_->draining.load()) endpoint_->on_shutdown();
    do_read();
  }

  // -- reading -------------------------------------------------------------------------

  void do_read() {
    ws_.async_read(read_buffer_, [self = shared_from_this()](error_code ec, std::size_t n) {
      self->on_read(ec, n);
    });
  }

  void on_read(error_code ec, std::size_t n) {
    if (ec) {
      // websocket::error::closed is the normal end; message_too_big has sent close 1009.
      if (ec != websocket::error::closed && ec != asio::error::operation_aborted)
        telemetry::log_info("websocket read ended",
                            {{"request_id", request_id_}, {"error", ec.message()}});
      return finish();
    }
    bytes_in_ += n;
    if (!endpoint_) return;
    if (ws_.got_text()) {
      auto text = beast::buffers_to_string(read_buffer_.data());
      read_buffer_.consume(read_buffer_.size());
      endpoint_->on_text(std::move(text));
    } else {
      read_buffer_.consume(read_buffer_.size());
      endpoint_->on_binary();
    }
    do_read();
  }

  // -- writing -------------------------------------------------------------------------

  void do_write() {
    std::string* next = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty() || finished_) {
        writing_ = false;
        return;
      }
      next = &queue_.front();  // deque: stays put while we append behind it
    }
    if (!stuck_armed_) {
      stuck_armed_ = true;
      last_progress_ = clock::now();
      arm_stuck(core_->limits.ws_stuck_timeout);
    }
    ws_.async_write(asio::buffer(*next), [self = shared_from_this()](error_code ec, std::size_t n) {
      self->on_write(ec, n);
    });
  }

  void on_write(error_code ec, std::size_t n) {
    if (ec) return finish();
    bytes_out_ += n;
    last_progress_ = clock::now();
    std::vector<std::function<void()>> drained;
    bool more = false;
    {
      std::lock_guard lock(mutex_);
      auto size = queue_.front().size();
      queue_.pop_front();
      queued_.fetch_sub(size, std::memory_order_relaxed);
      telemetry::metrics().ws_queued_bytes.sub(static_cast<std::int64_t>(size));
      more = !queue_.empty();
      if (!more) {
        writing_ = false;
        drained = drained_;
      }
    }
    if (close_pending_ && !more) return do_close();
    for (auto& fn : drained) fn();
    if (more) do_write();
  }

  /// While writes are under way: a write that makes no progress for the stuck timeout means
  /// the reader stopped reading (producers are paused by then; the queue stays bounded).
  void arm_stuck(std::chrono::steady_clock::duration after) {
    stuck_timer_.expires_after(after);
    stuck_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->finished_) return;
      bool writing = false;
      {
        std::lock_guard lock(self->mutex_);
        writing = self->writing_;
      }
      if (!writing) {
        self->stuck_armed_ = false;
        return;
      }
      auto limit = self->core_->limits.ws_stuck_timeout;
      auto quiet = clock::now() - self->last_progress_;
      if (quiet < limit) return self->arm_stuck(limit - quiet);
      telemetry::metrics().ws_slow_reader_closes.inc();
      self->begin_close(1008, "slow reader: not reading for too long", true);
    });
  }

  // -- closing -------------------------------------------------------------------------

  bool closing_now() {
    std::lock_guard lock(mutex_);
    return closing_;
  }

  /// Stops new messages, then sends the close frame after what is queued (a stuck reader's
  /// queue is dropped instead: only the frame on the wire finishes). A peer that does not
  /// complete the close in time is cut off.
  void begin_close(std::uint16_t code, std::string reason, bool drop_unsent = false) {
    if (finished_ || close_pending_) return;
    if (!open_) return finish_socket();
    bool idle = false;
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
      std::size_t dropped = 0;
      while (drop_unsent && queue_.size() > (writing_ ? 1u : 0u)) {
        dropped += queue_.back().size();
        queue_.pop_back();
      }
      queued_.fetch_sub(dropped, std::memory_order_relaxed);
      telemetry::metrics().ws_queued_bytes.sub(static_cast<std::int64_t>(dropped));
      idle = !writing_;
    }
    close_pending_ = true;
    close_code_ = code;
    if (reason.size() > 120) reason.resize(120);  // a close frame carries at most 123 bytes
    close_reason_ = std::move(reason);
    close_timer_.expires_after(close_grace);
    close_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->finish_socket();
    });
    if (idle) do_close();
  }

  void do_close() {
    if (close_sent_) return;
    close_sent_ = true;
    websocket::close_reason why{close_code_};
    why.reason = close_reason_;
    ws_.async_close(why, [self = shared_from_this()](error_code) {
      // The pending read completes with `closed` when the peer answers.
    });
  }

  void finish_socket() {
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).socket().close(ignored);
    finish();
  }

  /// Once: the socket is done. The endpoint hears about it, queued bytes are freed, and
  /// callbacks that may hold the endpoint are dropped (they would keep it alive).
  void finish() {
    if (finished_) return;
    finished_ = true;
    auth_timer_.cancel();
    stuck_timer_.cancel();
    stop_timer_.cancel();
    close_timer_.cancel();
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
      std::size_t left = queued_.exchange(0);
      telemetry::metrics().ws_queued_bytes.sub(static_cast<std::int64_t>(left));
      // The frame on the wire (if any) is referenced by a pending write: keep it.
      while (queue_.size() > (writing_ ? 1u : 0u)) queue_.pop_back();
      drained_.clear();
    }
    if (open_) {
      auto micros =
          std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - opened_at_);
      telemetry::log_info("websocket closed",
                          {{"request_id", request_id_},
                           {"duration_us", static_cast<long long>(micros.count())},
                           {"bytes_in", static_cast<long long>(bytes_in_)},
                           {"bytes_out", static_cast<long long>(bytes_out_)},
                           {"close_code", static_cast<int>(close_sent_ ? close_code_ : 0)}});
    }
    if (auto ep = std::move(endpoint_); ep && open_) ep->on_close();
  }

  websocket::stream<beast::tcp_stream> ws_;
  http::request<http::string_body> upgrade_;
  std::shared_ptr<ws_endpoint> endpoint_;
  std::shared_ptr<server_core> core_;
  std::string request_id_;
  beast::flat_buffer read_buffer_;
  asio::steady_timer auth_timer_;
  asio::steady_timer stuck_timer_;
  asio::steady_timer stop_timer_;  ///< the last word at the end of the shutdown grace
  asio::steady_timer close_timer_;

  // Guarded by mutex_ (touched from producers' threads).
  mutable std::mutex mutex_;
  std::deque<std::string> queue_;
  std::vector<std::function<void()>> drained_;
  bool writing_ = false;
  bool closing_ = false;
  std::atomic<std::size_t> queued_{0};

  // Strand only.
  bool open_ = false;
  bool authed_ = false;
  bool stuck_armed_ = false;
  clock::time_point last_progress_;
  bool finished_ = false;
  bool close_pending_ = false;
  bool close_sent_ = false;
  std::uint16_t close_code_ = 1000;
  std::string close_reason_;
  clock::time_point opened_at_;
  std::size_t bytes_in_ = 0;
  std::size_t bytes_out_ = 0;
};

}  // namespace

void start_ws_session(beast::tcp_stream stream, http::request<http::string_body> upgrade,
                      std::shared_ptr<ws_endpoint> endpoint, std::shared_ptr<server_core> core,
                      std::string request_id) {
  auto s = std::make_shared<ws_session>(std::move(stream), std::move(upgrade), std::move(endpoint),
                                        core, std::move(request_id));
  core->add(s);
  s->start();
}

}  // namespace nyxgate::net::detail
