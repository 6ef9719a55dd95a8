#include "net/http/session.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "net/http/readers.hpp"
#include "net/http/writer.hpp"
#include "net/ws/session.hpp"
#include "runtime/io_runtime.hpp"
#include "runtime/lazy_deadline.hpp"
#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"
#include "telemetry/utf8.hpp"

namespace nyxgate::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

namespace {

using detail::shard_executor;
using detail::shard_socket;

/// After a final answer we stop sending and read (and drop) what the client still sends for a
/// moment, so its unread request bytes do not turn our close into a RST that eats the answer.
/// A client uploading an oversize body may have a few socket buffers' worth in flight when
/// the 413 reaches it (64 KiB was too little: its answer was lost about every other time).
constexpr std::chrono::milliseconds linger_timeout{500};
constexpr std::size_t linger_bytes = 4 << 20;
/// At the end of the shutdown grace a request still under way gets this long for its last word
/// (a stream's error event) before its connection closes; the server waits a second for that.
constexpr std::chrono::milliseconds last_word_timeout{300};
/// While a request is with the handler, pipelined bytes are buffered up to this much.
constexpr std::size_t max_pipelined_bytes = 64 << 10;
/// A connection's read buffer beyond this size is given back after a request.
constexpr std::size_t max_kept_buffer = 16 << 10;
constexpr char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

/// The Beast request a WebSocket handshake needs, when `r` is a WebSocket upgrade.
std::optional<http::request<http::string_body>> websocket_upgrade(const detail::request_reader& r) {
  if (!r.upgrade() || r.req.method != "GET") return std::nullopt;
  http::request<http::string_body> out{http::verb::get, r.req.target, r.version};
  for (const auto& [name, value] : r.req.headers) out.insert(name, value);
  if (!beast::websocket::is_upgrade(out)) return std::nullopt;
  return out;
}

using detail::chunk_writer;
using detail::compose_head;
using detail::error_body;
using detail::server_connection;
using detail::server_core;
using detail::stream_owner;
using detail::stream_state;

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

/// Errors of Beast's HTTP parser (as opposed to socket errors).
bool is_http_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

/// One client connection. Kept alive by its pending operation (a read, a wait, a write, or the
/// watch on the socket while the handler works); every step runs on its shard's one thread, so
/// it needs no strand.
class session final : public server_connection,
                      public stream_owner,
                      public std::enable_shared_from_this<session> {
 public:
  session(shard_socket socket, std::shared_ptr<server_core> core)
      : socket_(std::move(socket)), deadline_(socket_.get_executor()), core_(std::move(core)) {
    error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    socket_.set_option(tcp::no_delay(true), ec);
    core_->open.fetch_add(1);
    telemetry::metrics().http_open_connections.add();
  }

  ~session() override {
    core_->open.fetch_sub(1);
    telemetry::metrics().http_open_connections.sub();
  }

  void run(bool over_capacity) {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this(), over_capacity] {
      if (!over_capacity) return self->do_read_request(true);
      telemetry::metrics().http_rejected_connections.inc();
      self->started_ = clock::now();
      self->send_error(503, "server at connection capacity, retry shortly", "overloaded");
    });
  }

  /// Shutdown began: idle connections close now, busy ones after their answer.
  void drain() override {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] {
      self->close_after_response_ = true;
      if (self->phase_ == phase::waiting || self->phase_ == phase::lingering) self->close();
    });
  }

  void wake_stream(std::shared_ptr<stream_owner> owner,
                   std::shared_ptr<stream_state> state) override {
    asio::post(socket_.get_executor(), [self = std::static_pointer_cast<session>(std::move(owner)),
                                        state = std::move(state)] { self->on_stream_wake(state); });
  }

  /// The grace period is over. A request still handled or streamed gets a moment for its last
  /// word (a stream's error event, an error answer) before the connection closes.
  void force_close() override {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] {
      bool pending = self->phase_ == phase::handling || self->phase_ == phase::streaming;
      auto signal = self->disconnected_;
      if (!pending || !signal || signal->fired()) return self->close(503);
      self->arm(last_word_timeout, timeout_kind::last_word);
      signal->fire(disconnect_cause::server_stopping);
    });
  }

 private:
  /// waiting: no byte of the next request yet; reading: header or body under way;
  /// handling: the handler has the request; streaming: a streamed answer goes out piece by
  /// piece; writing: the answer goes out (or a stream's last chunk went);
  /// lingering: answered, send side shut, dropping what the client still sends.
  enum class phase { waiting, reading, handling, streaming, writing, lingering, closed };
  enum class timeout_kind { none, idle, header, body, linger, write, stream, last_word };
  /// What is on its way to the socket: nothing, a complete answer, or a stream's batch.
  enum class pending_write : std::uint8_t { none, answer, batch };

  // -- reading -----------------------------------------------------------------

  void do_read_request(bool first) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(core_->limits.max_header_bytes));
    parser_->body_limit(core_->limits.max_body_bytes);
    if (buffer_.size() > 0) {  // the watch brought it, or a pipelined request is here
      phase_ = phase::reading;
      started_ = clock::now();
      arm(core_->limits.header_timeout, timeout_kind::header);
      parser_->eager(false);  // as Beast's async_read_header
      error_code ec;
      if (parse_buffered([this] { return parser_->is_header_done(); }, ec)) return on_header(ec, 0);
      return do_read_header();
    }
    // Wait for the first byte without a parser running, so an idle connection is
    // recognisable (and closable on shutdown). A new connection gets the header timeout from
    // accept on; a kept-alive one the idle timeout, then the header timeout from its first byte.
    phase_ = phase::waiting;
    first_ = first;
    if (first)
      arm(core_->limits.header_timeout, timeout_kind::header);
    else
      arm(core_->limits.idle_timeout, timeout_kind::idle);
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](error_code ec) { self->on_readable(ec); });
  }

  void on_readable(error_code ec) {
    if (phase_ == phase::closed) return;
    if (ec || timed_out_ != timeout_kind::none) return on_read_error(ec);
    phase_ = phase::reading;
    started_ = clock::now();
    if (!first_) arm(core_->limits.header_timeout, timeout_kind::header);
    // Beast reads what the buffer has room for: an empty one takes a header 512 bytes a read.
    // 4 KiB, as the watch's reads use, holds a usual request whole.
    if (buffer_.capacity() < 4096) buffer_.reserve(4096);
    do_read_header();
  }

  void do_read_header() {
    http::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, std::size_t n) { self->on_header(ec, n); });
  }

  void on_header(error_code ec, std::size_t n) {
    bytes_in_ += n;
    if (ec) return on_read_error(ec);
    const auto& req = parser_->req;
    method_ = req.method;
    target_ = req.target;
    version_ = parser_->version;
    if (version_ != 10 && version_ != 11)
      return send_error(505, "only HTTP/1.0 and HTTP/1.1 are supported",
                        "http_version_not_supported");
    if (req.target.size() > core_->limits.max_url_bytes)
      return send_error(
          414, "request URL exceeds " + std::to_string(core_->limits.max_url_bytes) + " bytes",
          "url_too_long");
    if (parser_->transfer_encoding && !parser_->chunked())
      // Only chunked is understood; guessing a body's end is how requests get smuggled.
      return send_error(501, "unsupported Transfer-Encoding; only chunked is accepted",
                        "unsupported_transfer_encoding");
    if (parser_->is_done()) return on_request();
    arm(core_->limits.body_timeout, timeout_kind::body);
    if (version_ == 11 && parser_->expect_continue) {
      // Clients like curl hold the body back for a second unless told to go on.
      return asio::async_write(socket_, asio::buffer(continue_100, sizeof(continue_100) - 1),
                               [self = shared_from_this()](error_code ec, std::size_t) {
                                 if (ec) return self->on_read_error(ec);
                                 self->do_read_body();
                               });
    }
    do_read_body();
  }

  void do_read_body() {
    parser_->eager(true);  // as Beast's async_read
    error_code ec;
    if (parse_buffered([this] { return parser_->is_done(); }, ec)) return on_body(ec);
    // Beast reads as much as the buffer has room for, and an empty one has 512 bytes: a
    // 100 KB prompt took 200 system calls. Room for the announced body, up to 64 KiB a read
    // (16 KiB for a chunked one); on_request gives it back.
    auto length = parser_->content_length();
    std::size_t want = length ? static_cast<std::size_t>(std::min<std::uint64_t>(*length, 64 << 10))
                              : std::size_t{16} << 10;
    if (buffer_.capacity() - buffer_.size() < want) buffer_.reserve(buffer_.size() + want);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, std::size_t n) {
                       self->bytes_in_ += n;
                       self->on_body(ec);
                     });
  }

  void on_body(error_code ec) {
    if (ec) return on_read_error(ec);
    on_request();
  }

  /// What Beast's read does before it reads the socket: the parser takes what the buffer
  /// holds. True when that reached `done` or failed (`ec`), false when more must be read. A
  /// request that came whole (the usual case) then needs no Beast operation, whose completion
  /// would be posted: two Asio handlers less per request.
  template <class Done>
  bool parse_buffered(Done done, error_code& ec) {
    while (!done()) {
      if (buffer_.size() == 0) return false;
      auto used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      bytes_in_ += used;
      if (ec == http::error::need_more) {
        ec = {};
        return false;
      }
      if (ec) return true;
      if (used == 0) return false;
    }
    return true;
  }

  /// The one place where a failed read becomes an HTTP answer (or a silent close).
  void on_read_error(error_code ec) {
    if (phase_ == phase::closed) return;
    auto timed_out = std::exchange(timed_out_, timeout_kind::none);
    if (timed_out == timeout_kind::idle) return close();
    if (timed_out == timeout_kind::header || timed_out == timeout_kind::body) {
      telemetry::metrics().http_timeouts.inc();
      return send_error(408,
                        timed_out == timeout_kind::header ? "request header not received in time"
                                                          : "request body not received in time",
                        "request_timeout");
    }
    if (ec == http::error::header_limit)
      return send_error(
          431,
          "request header exceeds " + std::to_string(core_->limits.max_header_bytes) + " bytes",
          "header_too_large");
    if (ec == http::error::body_limit)
      return send_error(
          413, "request body exceeds " + std::to_string(core_->limits.max_body_bytes) + " bytes",
          "body_too_large");
    // The client went away (before or in the middle of a request): nobody to answer.
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        !is_http_error(ec))
      return close();
    send_error(400, "malformed HTTP request: " + ec.message(), "bad_request");
  }

  // -- handling ----------------------------------------------------------------

  void on_request() {
    disarm();
    phase_ = phase::handling;
    keep_alive_ = parser_->keep_alive();
    upgrade_ = websocket_upgrade(*parser_);
    http_request req = std::move(parser_->req);
    parser_.reset();
    // A large body's read room (do_read_body) is not kept for the connection's idle time.
    if (buffer_.capacity() > max_kept_buffer) buffer_.shrink_to_fit();
    req.remote_address = remote_;
    req.received_at = started_;
    auto client_id = req.header("x-request-id");
    request_id_ = valid_request_id(client_id) ? std::string{client_id} : core_->new_request_id();
    req.request_id = request_id_;
    disconnected_ = req.disconnected;

    // The answer may come from any thread, or never reach us if the client left meanwhile:
    // it holds the session weakly and hops onto the session's thread.
    // A second answer to the same request is dropped there (its sequence number is stale
    // or the session no longer handles it).
    auto seq = ++seq_;
    respond_fn respond = [weak = weak_from_this(), seq](http_response response) {
      auto self = weak.lock();
      if (!self) return;
      auto& home = self->socket_.get_executor().context();
      if (runtime::current_context() != &home) {
        return asio::post(home, [self, seq, response = std::move(response)]() mutable {
          self->on_response(seq, std::move(response));
        });
      }
      // From the session's own thread (a request actor, most often): in the same handler as
      // the actor steps queued there, after the caller's locks are released.
      runtime::run_soon([self = std::move(self), seq, response = std::move(response)]() mutable {
        self->on_response(seq, std::move(response));
      });
    };
    do_watch();
    core_->handler(std::move(req), std::move(respond));
  }

  /// While the handler works, a read on the socket notices a client that hangs up (and keeps
  /// the session alive); bytes of a pipelined next request are kept for later.
  void do_watch() {
    if (buffer_.size() >= max_pipelined_bytes) {
      // Stop reading a client that floods us; the pending answer alone keeps us alive.
      self_ = shared_from_this();
      return;
    }
    watching_ = true;
    socket_.async_read_some(
        buffer_.prepare(4096),
        [self = shared_from_this()](error_code ec, std::size_t n) { self->on_watch(ec, n); });
  }

  /// The watch ends: bytes of a next request, the client leaving, or a cancel (an upgrade
  /// to hand over, a close to prepare, a timeout). After the answer the watch is the wait for
  /// the next request: its bytes land in the buffer and the parser takes them from there.
  void on_watch(error_code ec, std::size_t n) {
    watching_ = false;
    buffer_.commit(n);
    if (phase_ == phase::closed) return;
    if (phase_ == phase::waiting) {
      if (ec || timed_out_ != timeout_kind::none) return on_read_error(ec);
      return do_read_request(false);
    }
    if (ec && ec != asio::error::operation_aborted) {
      if (phase_ != phase::writing) return close(499);  // client went away
      close_after_response_ = true;                     // it stopped sending: answer, then close
    }
    if (pending_) {
      auto response = std::move(*pending_);
      pending_.reset();
      return send(std::move(response));
    }
    // Writing: with the answer still going out, what the watch brought (bytes of a next
    // request, the client's end) waits for it; with the answer out, `after_response` ended
    // the watch (however it ended) and goes on from here.
    if (phase_ == phase::writing) {
      if (write_ == pending_write::none) return after_response();
      return;
    }
    if (phase_ == phase::handling || phase_ == phase::streaming) do_watch();
  }

  void on_response(std::uint64_t seq, http_response response) {
    if (seq != seq_ || phase_ != phase::handling) return;
    self_.reset();
    // The watch goes on while an answer is written: it is how a leaving client is noticed,
    // and after the answer it waits for the next request. A read and a write may be pending
    // together; only the upgrade takes the socket away and must end the watch first.
    if (response.stream) return start_stream(std::move(response));
    if (!watching_ || !response.websocket) return send(std::move(response));
    pending_ = std::move(response);
    error_code ignored;
    socket_.cancel(ignored);
  }

  // -- writing -----------------------------------------------------------------

  void send(http_response response) {
    if (response.websocket) return hand_over(std::move(response));
    upgrade_.reset();
    close_after_write_ = !keep_alive_ || close_after_response_ || core_->draining.load();
    // Head and body as one buffer, one write: cheaper than Beast's serializer for an answer
    // that is complete anyway.
    auto status = response.status;
    bool bodiless = status < 200 || status == 204 || status == 304;
    out_ = compose_head(version_, response, request_id_, close_after_write_,
                        bodiless ? "" : "Content-Length",
                        bodiless ? "" : std::to_string(response.body.size()));
    // HEAD: Content-Length stays, the body does not go.
    if (!bodiless && method_ != "HEAD") out_ += response.body;
    route_ = response.route;
    status_ = response.status;
    disconnected_.reset();  // answered: a client leaving now no longer matters to the handler

    phase_ = phase::writing;
    // An answer fits the socket's send buffer as a rule: written here, it needs no Asio
    // operation, whose completion would be posted. What does not fit goes the usual way.
    auto sent =
        ::send(socket_.native_handle(), out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent == static_cast<ssize_t>(out_.size())) return on_write({}, out_.size());
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return on_write(error_code{errno, boost::system::system_category()}, 0);
    auto done = static_cast<std::size_t>(sent > 0 ? sent : 0);
    arm(core_->limits.write_timeout, timeout_kind::write);
    write_ = pending_write::answer;
    asio::async_write(socket_, asio::buffer(out_) + done,
                      [self = shared_from_this(), done](error_code ec, std::size_t n) {
                        self->on_write(ec, done + n);
                      });
  }

  void on_write(error_code ec, std::size_t n) {
    write_ = pending_write::none;
    disarm();
    bytes_out_ = n;
    log_request();
    if (ec || phase_ == phase::closed) return close();
    after_response();
  }

  /// The answer went out. A pending watch becomes the wait for the next request, unless the
  /// connection closes or a pipelined request is already buffered: the parser may not touch
  /// the buffer while a read into it is pending, so the watch ends first and its handler
  /// comes back here.
  void after_response() {
    bool closing = close_after_write_ || close_after_response_;
    if (watching_ && (closing || buffer_.size() > 0)) {
      error_code ignored;
      socket_.cancel(ignored);
      return;
    }
    if (closing) return do_linger();
    reset_request();
    if (!watching_) return do_read_request(false);
    phase_ = phase::waiting;
    first_ = false;
    arm(core_->limits.idle_timeout, timeout_kind::idle);
  }

  /// The application accepted a WebSocket upgrade: the socket leaves this session.
  void hand_over(http_response response) {
    if (!upgrade_) {
      return send_error(400, "this endpoint needs a WebSocket upgrade request",
                        "websocket_upgrade_required");
    }
    route_ = response.route;
    status_ = 101;
    log_request();
    disarm();
    phase_ = phase::closed;
    self_.reset();
    disconnected_.reset();
    deadline_.cancel();  // the WebSocket stream runs its own timeouts
    // A WebSocket is written from other threads' actors too and its code relies on a strand
    // (`dispatch` from outside runs later, never inline): the socket moves onto one.
    error_code ec;
    auto protocol = socket_.local_endpoint(ec).protocol();
    auto fd = ec ? -1 : socket_.release(ec);
    if (ec) {
      upgrade_.reset();
      return socket_.close(ec);
    }
    tcp::socket socket{asio::make_strand(socket_.get_executor())};
    socket.assign(protocol, fd, ec);
    if (ec) {
      ::close(fd);
      upgrade_.reset();
      return;
    }
    detail::start_ws_session(beast::tcp_stream{std::move(socket)}, std::move(*upgrade_),
                             std::move(response.websocket), core_, request_id_);
    upgrade_.reset();
  }

  // -- streaming ---------------------------------------------------------------

  void start_stream(http_response response) {
    phase_ = phase::streaming;
    route_ = response.route;
    status_ = response.status;
    // HTTP/1.0 knows no chunked encoding: its body ends with the connection.
    chunked_ = version_ == 11;
    head_only_ = method_ == "HEAD";
    close_after_write_ =
        !keep_alive_ || close_after_response_ || core_->draining.load() || !chunked_;

    head_text_ = compose_head(version_, response, request_id_, close_after_write_,
                              chunked_ ? "Transfer-Encoding" : "", chunked_ ? "chunked" : "");

    auto state = std::make_shared<stream_state>();
    state->owner = weak_from_this();
    stream_state_ = state;
    wrote_since_drain_ = false;
    ending_ = false;
    batch_bytes_ = 0;
    last_progress_ = clock::now();
    arm(core_->limits.write_timeout, timeout_kind::stream);
    // The handler first, then the head: what it writes at once (often the whole answer of a
    // fast upstream) goes out with the head in one write.
    auto stream = std::move(response.stream);
    stream(std::make_shared<chunk_writer>(std::move(state)));
    pump();
  }

  /// A writer's wake-up: the queue had been idle and has something again.
  void on_stream_wake(const std::shared_ptr<stream_state>& state) {
    if (state != stream_state_ || phase_ != phase::streaming || write_ != pending_write::none)
      return;
    pump();
  }

  /// Takes everything queued and writes it as one chunk (one gathered write), with the last
  /// chunk appended once the body is finished.
  void pump() {
    auto& st = *stream_state_;
    std::shared_ptr<const std::function<void()>> drained;
    {
      std::lock_guard lock(st.mutex);
      if (st.queue.empty() && !st.finished) {
        st.scheduled = false;
        if (std::exchange(wrote_since_drain_, false)) drained = st.drained;
      } else {
        writing_.swap(st.queue);
        ending_ = st.finished;
      }
    }
    if (writing_.empty() && !ending_ && head_text_.empty()) {
      if (drained && *drained) (*drained)();
      return;
    }
    batch_bytes_ = 0;
    for (const auto& piece : writing_) batch_bytes_ += piece.size();
    gather_.clear();
    if (!head_text_.empty()) gather_.emplace_back(head_text_.data(), head_text_.size());
    if (!head_only_ && batch_bytes_ > 0) {
      if (chunked_) {
        auto [end, ec] =
            std::to_chars(chunk_line_, chunk_line_ + sizeof(chunk_line_) - 2, batch_bytes_, 16);
        end[0] = '\r';
        end[1] = '\n';
        gather_.emplace_back(chunk_line_, static_cast<std::size_t>(end + 2 - chunk_line_));
      }
      for (const auto& piece : writing_) gather_.emplace_back(piece.data(), piece.size());
      if (chunked_) gather_.emplace_back("\r\n", 2);
    }
    if (ending_ && chunked_ && !head_only_) gather_.emplace_back("0\r\n\r\n", 5);
    write_ = pending_write::batch;
    if (gather_.empty()) {  // HEAD: nothing goes on the wire; posted, so no recursion
      return asio::post(socket_.get_executor(),
                        [self = shared_from_this()] { self->on_stream_write({}, 0); });
    }
    last_progress_ = clock::now();
    // The completion condition runs after every partial write: a client that reads slowly
    // but steadily is making progress, one that stopped reading is not.
    asio::async_write(
        socket_, gather_,
        [this](const error_code& ec, std::size_t) -> std::size_t {
          last_progress_ = clock::now();
          return ec ? 0 : std::size_t{1} << 20;
        },
        [self = shared_from_this()](error_code ec, std::size_t n) {
          self->on_stream_write(ec, n);
        });
  }

  void on_stream_write(error_code ec, std::size_t n) {
    write_ = pending_write::none;
    bytes_out_ += n;
    head_text_.clear();
    writing_.clear();  // keeps its capacity for the next batch
    if (phase_ != phase::streaming) return;
    if (ec) return close();
    auto batch = std::exchange(batch_bytes_, 0);
    stream_state_->queued.fetch_sub(batch, std::memory_order_relaxed);
    if (ending_) return end_stream();
    if (batch > 0) wrote_since_drain_ = true;
    pump();
  }

  void end_stream() {
    disarm();
    log_request();
    {
      std::lock_guard lock(stream_state_->mutex);
      stream_state_->drained.reset();  // it may hold the writer: break the cycle
    }
    stream_state_.reset();
    disconnected_.reset();
    self_.reset();
    phase_ = phase::writing;
    after_response();
  }

  void send_error(unsigned status, const std::string& message, std::string_view code) {
    if (request_id_.empty()) request_id_ = core_->new_request_id();
    keep_alive_ = false;
    http_response r;
    r.status = status;
    r.body = error_body(message, code);
    send(std::move(r));
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
    version_ = 11;
    route_ = telemetry::route_kind::other;
    status_ = 0;
    bytes_in_ = bytes_out_ = 0;
  }

  // -- closing -----------------------------------------------------------------

  void do_linger() {
    phase_ = phase::lingering;
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    buffer_.clear();
    arm(linger_timeout, timeout_kind::linger);
    do_discard();
  }

  void do_discard() {
    socket_.async_read_some(
        buffer_.prepare(4096), [self = shared_from_this()](error_code ec, std::size_t n) {
          self->linger_read_ += n;
          if (ec || self->phase_ != phase::lingering || self->linger_read_ > linger_bytes)
            return self->close();
          self->do_discard();
        });
  }

  /// `unanswered` is the status logged when a request dies here without an answer.
  /// A request still pending here (handled or streaming) has its `disconnected` fired.
  void close(unsigned unanswered = 499) {
    if (phase_ == phase::closed) return;
    bool pending_request = phase_ == phase::handling || phase_ == phase::streaming;
    if (phase_ == phase::handling) status_ = unanswered;
    if (pending_request) log_request();  // a cut stream logs the status its head carried
    phase_ = phase::closed;
    disarm();
    error_code ignored;
    deadline_.cancel();
    self_.reset();
    pending_.reset();
    if (stream_state_) {
      std::lock_guard lock(stream_state_->mutex);
      stream_state_->gone = true;
      stream_state_->queue.clear();
      stream_state_->queued.store(0, std::memory_order_relaxed);
      stream_state_->drained.reset();  // it may hold the writer: break the cycle
    }
    stream_state_.reset();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    // Last: subscribers may call back into the writer or respond, which must find us closed.
    if (auto signal = std::move(disconnected_); signal && pending_request) signal->fire();
  }

  // -- deadlines ---------------------------------------------------------------

  // One lazy timer per connection. Setting a deadline writes two fields; the timer's wait
  // stays pending and, when it fires, compares the clock with whatever deadline holds then
  // (a kept-alive request sets three or four deadlines: a timer operation each would cost
  // more than the rest of the session's work). The wait never lies further ahead than the
  // shortest of the server's timeouts, so a new deadline rarely needs the wait moved.

  /// Header and body deadlines cancel the read instead of closing the socket, so the read's
  /// handler can still answer 408.
  void arm(std::chrono::milliseconds after, timeout_kind kind) {
    timed_out_ = timeout_kind::none;
    due_kind_ = kind;
    due_ = clock::now() + after;
    wait_until(due_);
  }

  void disarm() {
    timed_out_ = timeout_kind::none;
    due_kind_ = timeout_kind::none;
  }

  /// The wait fires no later than `at`.
  void wait_until(clock::time_point at) {
    deadline_.wait_until<&session::on_timer, runtime::hold::strong>(at, *this);
  }

  void on_timer(error_code ec) {
    if (ec || phase_ == phase::closed) return;
    auto now = clock::now();
    const auto& limits = core_->limits;
    if (due_kind_ == timeout_kind::stream) {
      // A stream is bound by the client's reading only: a write that makes no progress
      // for the write timeout drops the client.
      due_ = write_ == pending_write::batch ? last_progress_ + limits.write_timeout
                                            : now + limits.write_timeout;
    }
    // Nothing to watch (a handler at work; the watch read keeps the session): the next
    // deadline starts the wait again.
    if (due_kind_ == timeout_kind::none) return;
    if (now >= due_) return expire(std::exchange(due_kind_, timeout_kind::none));
    auto tick = std::min(
        {limits.header_timeout, limits.body_timeout, limits.idle_timeout, limits.write_timeout});
    wait_until(std::min(now + tick, due_));
  }

  void expire(timeout_kind kind) {
    error_code ignored;
    switch (kind) {
      case timeout_kind::stream:
        telemetry::metrics().http_timeouts.inc();
        [[fallthrough]];
      case timeout_kind::write:
        return close();
      case timeout_kind::last_word:
        return close(503);
      default:
        timed_out_ = kind;
        socket_.cancel(ignored);
    }
  }

  shard_socket socket_;
  runtime::lazy_deadline<shard_executor> deadline_;
  std::shared_ptr<server_core> core_;
  beast::flat_buffer buffer_;
  std::optional<detail::request_reader> parser_;
  std::string out_;                       ///< a complete answer being written
  std::optional<http_response> pending_;  ///< answer that arrived while the watch was pending
  std::optional<http::request<http::string_body>> upgrade_;  ///< a WebSocket upgrade request
  std::shared_ptr<disconnect_signal> disconnected_;          ///< of the request being handled
  // A streamed answer: its head while being written, its queue, the batch on the wire.
  std::string head_text_;  ///< a stream's head until it went out with the first batch
  std::shared_ptr<stream_state> stream_state_;
  std::vector<std::string> writing_;
  std::vector<asio::const_buffer> gather_;
  char chunk_line_[24] = {};
  std::size_t batch_bytes_ = 0;
  clock::time_point last_progress_;
  bool wrote_since_drain_ = false;
  bool ending_ = false;
  bool chunked_ = true;
  bool head_only_ = false;
  std::shared_ptr<session> self_;  ///< only while handling without a watch
  phase phase_ = phase::waiting;
  timeout_kind timed_out_ = timeout_kind::none;
  timeout_kind due_kind_ = timeout_kind::none;
  clock::time_point due_;
  pending_write write_ = pending_write::none;
  std::uint64_t seq_ = 0;
  bool first_ = true;
  bool watching_ = false;
  bool keep_alive_ = true;
  bool close_after_write_ = false;
  bool close_after_response_ = false;
  clock::time_point started_ = clock::now();
  std::string remote_;
  std::string method_;
  std::string target_;
  std::string request_id_;
  unsigned version_ = 11;
  telemetry::route_kind route_ = telemetry::route_kind::other;
  unsigned status_ = 0;
  std::size_t bytes_in_ = 0;
  std::size_t bytes_out_ = 0;
  std::size_t linger_read_ = 0;
};

}  // namespace

void detail::start_session(shard_socket socket, std::shared_ptr<server_core> core,
                           bool over_capacity) {
  auto s = std::make_shared<session>(std::move(socket), core);
  core->add(s);
  s->run(over_capacity);
}

}  // namespace nyxgate::net
