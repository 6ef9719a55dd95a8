#include "storage/detail/pg_connection.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <ostream>
#include <random>

#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"

namespace nyxgate::storage {

std::string_view to_string(db_errc e) {
  switch (e) {
    case db_errc::ok:
      return "ok";
    case db_errc::unique_violation:
      return "unique_violation";
    case db_errc::foreign_key_violation:
      return "foreign_key_violation";
    case db_errc::check_violation:
      return "check_violation";
    case db_errc::serialization_failure:
      return "serialization_failure";
    case db_errc::connection_lost:
      return "connection_lost";
    case db_errc::unavailable:
      return "unavailable";
    case db_errc::timeout:
      return "timeout";
    case db_errc::overloaded:
      return "overloaded";
    case db_errc::other:
      return "other";
  }
  return "other";
}

std::ostream& operator<<(std::ostream& os, db_errc e) {
  return os << to_string(e);
}

db_errc classify_sqlstate(std::string_view s) {
  if (s == "23505") return db_errc::unique_violation;
  if (s == "23503") return db_errc::foreign_key_violation;
  if (s == "23514" || s == "23502" || s.starts_with("22")) return db_errc::check_violation;
  if (s == "40001" || s == "40P01") return db_errc::serialization_failure;
  if (s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03")
    return db_errc::connection_lost;
  if (s == "57014") return db_errc::timeout;
  return db_errc::other;
}

}  // namespace nyxgate::storage

namespace nyxgate::storage::detail {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace std::chrono_literals;

class pg_connection_impl final : public pg_connection,
                                 public std::enable_shared_from_this<pg_connection_impl> {
 public:
  pg_connection_impl(asio::io_context& ctx, connection_options opts)
      : strand_(asio::make_strand(ctx)),
        socket_(strand_),
        connect_timer_(strand_),
        query_timer_(strand_),
        backoff_timer_(strand_),
        opts_(std::move(opts)) {}

  ~pg_connection_impl() override {
    on_state_ = nullptr;
    finish_connection();
  }

  void start(state_fn on_state, notify_fn on_notify) override {
    asio::post(strand_, [self = shared_from_this(), on_state = std::move(on_state),
                         on_notify = std::move(on_notify)]() mutable {
      self->on_state_ = std::move(on_state);
      self->on_notify_ = std::move(on_notify);
      self->do_connect();
    });
  }

  void execute(db_batch batch, db_callback done) override {
    asio::post(strand_, [self = shared_from_this(), batch = std::move(batch),
                         done = std::move(done)]() mutable {
      self->do_execute(std::move(batch), std::move(done));
    });
  }

  void close() override {
    asio::post(strand_, [self = shared_from_this()] {
      self->closed_ = true;
      self->backoff_timer_.cancel();
      self->fail_batch(db_errc::unavailable, "storage connection closed");
      self->finish_connection();
    });
  }

 private:
  enum class phase { disconnected, connecting, ready };

  // -- connecting -------------------------------------------------------------

  void do_connect() {
    if (closed_) return;
    finish_connection();
    conn_ = PQconnectStart(opts_.conninfo.c_str());
    if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD) {
      on_connect_failed(conn_ ? PQerrorMessage(conn_) : "out of memory");
      return;
    }
    phase_ = phase::connecting;
    connect_timer_.expires_after(opts_.connect_timeout);
    connect_timer_.async_wait([self = shared_from_this(), gen = connect_gen_](error_code ec) {
      if (ec || gen != self->connect_gen_ || self->phase_ != phase::connecting) return;
      self->on_connect_failed("connect timeout");
    });
    on_connect_poll(PGRES_POLLING_WRITING);
  }

  void on_connect_poll(PostgresPollingStatusType status) {
    if (phase_ != phase::connecting) return;
    switch (status) {
      case PGRES_POLLING_OK:
        return on_connected();
      case PGRES_POLLING_FAILED:
        return on_connect_failed(PQerrorMessage(conn_));
      default:
        break;
    }
    if (!attach_socket()) return on_connect_failed("no socket");
    auto wait = status == PGRES_POLLING_READING ? asio::posix::stream_descriptor::wait_read
                                                : asio::posix::stream_descriptor::wait_write;
    socket_.async_wait(wait, [self = shared_from_this(), gen = connect_gen_](error_code ec) {
      if (gen != self->connect_gen_ || self->phase_ != phase::connecting) return;
      if (ec) return self->on_connect_failed(ec.message().c_str());
      self->on_connect_poll(PQconnectPoll(self->conn_));
    });
  }

  void on_connected() {
    connect_timer_.cancel();
    if (PQsetnonblocking(conn_, 1) != 0) return on_connect_failed("cannot set non-blocking mode");
    // Notices ("relation already exists, skipping") would go raw to stderr; logs are JSON.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    if (!attach_socket()) return on_connect_failed("no socket");
    phase_ = phase::ready;
    attempts_ = 0;
    telemetry::metrics().db_connections_up.add();
    telemetry::log_info("database connected", {{"connection", opts_.name}});
    if (on_state_) on_state_(true);
    wait_idle();
  }

  void on_connect_failed(const char* why) {
    std::string reason = why ? why : "unknown";
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
    // libpq's message names host and user, never the password.
    if (attempts_ == 0 || attempts_ % 20 == 0)
      telemetry::log_warn("database connect failed",
                          {{"connection", opts_.name}, {"reason", reason}, {"attempt", attempts_}});
    finish_connection();
    schedule_reconnect();
  }

  void schedule_reconnect() {
    if (closed_) return;
    phase_ = phase::disconnected;
    auto base = std::min<std::int64_t>(opts_.backoff_max.count(), opts_.backoff_min.count()
                                                                      << std::min(attempts_, 16));
    std::uniform_int_distribution<std::int64_t> jitter(base / 2, base);
    ++attempts_;
    telemetry::metrics().db_reconnects.inc();
    backoff_timer_.expires_after(std::chrono::milliseconds(jitter(rng_)));
    backoff_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->do_connect();
    });
  }

  /// Points the descriptor at libpq's current socket (it may change while connecting).
  bool attach_socket() {
    int fd = PQsocket(conn_);
    if (fd < 0) return false;
    if (socket_.is_open() && socket_.native_handle() == fd) return true;
    if (socket_.is_open()) socket_.release();
    error_code ec;
    socket_.assign(fd, ec);
    return !ec;
  }

  void finish_connection() {
    ++connect_gen_;
    ++idle_gen_;
    connect_timer_.cancel();
    query_timer_.cancel();
    if (socket_.is_open()) socket_.release();
    if (conn_ != nullptr) {
      PQfinish(conn_);
      conn_ = nullptr;
    }
    if (phase_ == phase::ready) {
      telemetry::metrics().db_connections_up.sub();
      if (on_state_) on_state_(false);
    }
    phase_ = phase::disconnected;
  }

  void on_connection_lost(const std::string& why) {
    telemetry::log_warn("database connection lost", {{"connection", opts_.name}, {"reason", why}});
    fail_batch(db_errc::connection_lost, "database connection lost: " + why);
    finish_connection();
    schedule_reconnect();
  }

  // -- idle: notifications and noticing a dead server early --------------------

  void wait_idle() {
    if (phase_ != phase::ready || done_) return;
    socket_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [self = shared_from_this(), gen = idle_gen_](error_code ec) {
                         if (ec || gen != self->idle_gen_ || self->done_) return;
                         if (PQconsumeInput(self->conn_) == 0)
                           return self->on_connection_lost(PQerrorMessage(self->conn_));
                         self->drain_notifications();
                         self->wait_idle();
                       });
  }

  void drain_notifications() {
    while (PGnotify* n = PQnotifies(conn_)) {
      if (on_notify_) on_notify_(n->relname, n->extra ? n->extra : "");
      PQfreemem(n);
    }
  }

  // -- running a batch ---------------------------------------------------------

  void do_execute(db_batch batch, db_callback done) {
    if (done_) return done(db_reply::failure(db_errc::overloaded, "connection busy"));
    if (phase_ != phase::ready)
      return done(db_reply::failure(db_errc::unavailable, "database unavailable, reconnecting"));
    ++idle_gen_;
    socket_.cancel();
    done_ = std::move(done);
    reply_ = db_reply{};
    statements_ = std::move(batch.statements);
    transaction_ = batch.transaction;
    next_ = 0;
    in_rollback_ = false;
    query_timer_.expires_after(opts_.query_timeout);
    query_timer_.async_wait([self = shared_from_this(), gen = ++query_gen_](error_code ec) {
      if (ec || gen != self->query_gen_ || !self->done_) return;
      // The connection is mid-statement; dropping it is the one state we know is clean.
      self->fail_batch(db_errc::timeout, "statement deadline passed");
      self->finish_connection();
      self->schedule_reconnect();
    });
    if (transaction_) {
      send("BEGIN", {}, {});
    } else {
      send_next();
    }
  }

  void send_next() {
    if (next_ == statements_.size()) {
      if (transaction_ && !in_commit_) {
        in_commit_ = true;
        return send("COMMIT", {}, {});
      }
      return complete();
    }
    const auto& st = statements_[next_];
    copy_data_ = &st.copy_data;
    send(st.sql, st.params, st.null_params);
  }

  void send(const std::string& sql, const std::vector<std::string>& params,
            const std::vector<std::uint8_t>& nulls) {
    std::vector<const char*> values(params.size());
    for (std::size_t i = 0; i < params.size(); ++i)
      values[i] = (i < nulls.size() && nulls[i]) ? nullptr : params[i].c_str();
    telemetry::metrics().db_queries.inc();
    if (PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                          values.data(), nullptr, nullptr, 0) == 0)
      return on_connection_lost(PQerrorMessage(conn_));
    flush();
  }

  void flush() {
    int r = PQflush(conn_);
    if (r < 0) return on_connection_lost(PQerrorMessage(conn_));
    if (r == 1) {
      socket_.async_wait(asio::posix::stream_descriptor::wait_write,
                         [self = shared_from_this(), gen = query_gen_](error_code ec) {
                           if (ec || gen != self->query_gen_ || !self->done_) return;
                           self->flush();
                         });
      return;
    }
    read_results();
  }

  void read_results() {
    while (!PQisBusy(conn_)) {
      PGresult* res = PQgetResult(conn_);
      if (res == nullptr) return on_statement_done();
      if (PQresultStatus(res) == PGRES_COPY_IN) {
        PQclear(res);
        return send_copy_data();
      }
      take(res);
      PQclear(res);
    }
    socket_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [self = shared_from_this(), gen = query_gen_](error_code ec) {
                         if (ec || gen != self->query_gen_ || !self->done_) return;
                         if (PQconsumeInput(self->conn_) == 0)
                           return self->on_connection_lost(PQerrorMessage(self->conn_));
                         self->read_results();
                       });
  }

  /// The server waits for a COPY's rows: all of them, the end, then the results as usual.
  /// (libpq grows its output buffer rather than refuse data; a 0 from it in non-blocking mode
  /// means that buffer could not grow.)
  void send_copy_data() {
    static const std::string none;
    const auto& data = copy_data_ ? *copy_data_ : none;
    if (!data.empty() && PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1)
      return on_connection_lost(PQerrorMessage(conn_));
    if (PQputCopyEnd(conn_, nullptr) != 1) return on_connection_lost(PQerrorMessage(conn_));
    flush();
  }

  void take(PGresult* res) {
    auto status = PQresultStatus(res);
    if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE ||
        status == PGRES_NONFATAL_ERROR) {
      if (stmt_error_.error != db_errc::ok) return;
      const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
      stmt_error_.sqlstate = state ? state : "";
      stmt_error_.message = primary ? primary : PQresultErrorMessage(res);
      stmt_error_.error = classify_sqlstate(stmt_error_.sqlstate);
      if (stmt_error_.error == db_errc::ok) stmt_error_.error = db_errc::other;
      return;
    }
    if (in_rollback_ || in_commit_ || (transaction_ && !began_)) return;
    db_result out;
    int cols = PQnfields(res);
    int rows = PQntuples(res);
    out.columns.reserve(cols);
    for (int c = 0; c < cols; ++c) out.columns.emplace_back(PQfname(res, c));
    out.cells.reserve(static_cast<std::size_t>(rows) * cols);
    out.nulls.reserve(static_cast<std::size_t>(rows) * cols);
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) {
        bool null = PQgetisnull(res, r, c);
        out.nulls.push_back(null ? 1 : 0);
        out.cells.emplace_back(null ? ""
                                    : std::string(PQgetvalue(res, r, c), PQgetlength(res, r, c)));
      }
    }
    const char* affected = PQcmdTuples(res);
    out.affected = (affected && *affected) ? std::atoll(affected) : rows;
    reply_.results.push_back(std::move(out));
  }

  void on_statement_done() {
    if (in_rollback_) return complete();
    if (stmt_error_.error != db_errc::ok) {
      telemetry::metrics().db_query_errors.inc();
      reply_.error = stmt_error_.error;
      reply_.sqlstate = std::move(stmt_error_.sqlstate);
      reply_.message = std::move(stmt_error_.message);
      reply_.results.clear();
      stmt_error_ = {};
      if (transaction_ && began_ && !in_commit_) {
        in_rollback_ = true;
        return send("ROLLBACK", {}, {});
      }
      return complete();
    }
    if (transaction_ && !began_) {
      began_ = true;
      return send_next();
    }
    if (in_commit_) return complete();
    ++next_;
    send_next();
  }

  void complete() {
    auto done = std::move(done_);
    auto reply = std::move(reply_);
    reset_batch();
    wait_idle();
    if (done) done(std::move(reply));
  }

  void fail_batch(db_errc e, std::string why) {
    if (!done_) return;
    telemetry::metrics().db_query_errors.inc();
    auto done = std::move(done_);
    reset_batch();
    done(db_reply::failure(e, std::move(why)));
  }

  void reset_batch() {
    done_ = nullptr;
    ++query_gen_;
    query_timer_.cancel();
    statements_.clear();
    copy_data_ = nullptr;
    reply_ = db_reply{};
    stmt_error_ = {};
    next_ = 0;
    transaction_ = began_ = in_commit_ = in_rollback_ = false;
  }

  asio::strand<asio::io_context::executor_type> strand_;
  asio::posix::stream_descriptor socket_;
  asio::steady_timer connect_timer_;
  asio::steady_timer query_timer_;
  asio::steady_timer backoff_timer_;
  connection_options opts_;
  state_fn on_state_;
  notify_fn on_notify_;
  PGconn* conn_ = nullptr;
  phase phase_ = phase::disconnected;
  bool closed_ = false;
  int attempts_ = 0;
  std::uint64_t connect_gen_ = 0;
  std::uint64_t idle_gen_ = 0;
  std::uint64_t query_gen_ = 0;
  std::minstd_rand rng_{std::random_device{}()};

  // the running batch
  db_callback done_;
  db_reply reply_;
  db_reply stmt_error_;
  std::vector<statement> statements_;
  const std::string* copy_data_ = nullptr;  ///< the running statement's COPY rows
  std::size_t next_ = 0;
  bool transaction_ = false;
  bool began_ = false;
  bool in_commit_ = false;
  bool in_rollback_ = false;
};

}  // namespace

std::shared_ptr<pg_connection> pg_connection::create(boost::asio::io_context& ctx,
                                                     connection_options opts) {
  return std::make_shared<pg_connection_impl>(ctx, std::move(opts));
}

}  // namespace nyxgate::storage::detail
