#include "storage/usage_recorder.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "storage/database.hpp"
#include "storage/uuid.hpp"
#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"

namespace nyxgate::storage {

namespace asio = boost::asio;

std::string_view to_string(usage_status s) {
  switch (s) {
    case usage_status::ok:
      return "ok";
    case usage_status::error:
      return "error";
    case usage_status::truncated:
      return "truncated";
    case usage_status::cancelled:
      return "cancelled";
  }
  return {};
}

std::string_view to_string(usage_operation o) {
  switch (o) {
    case usage_operation::chat:
      return "chat";
    case usage_operation::embeddings:
      return "embeddings";
  }
  return {};
}

bool valid_usage_event(const usage_event& e) {
  auto uuid_or_empty = [](const std::string& s) { return s.empty() || is_uuid(s); };
  auto one_of = [](const std::string& s, std::initializer_list<std::string_view> allowed) {
    return std::find(allowed.begin(), allowed.end(), s) != allowed.end();
  };
  return is_uuid(e.tenant_id) && uuid_or_empty(e.user_id) && uuid_or_empty(e.key_id) &&
         uuid_or_empty(e.run_id) && uuid_or_empty(e.item_id) && !e.request_id.empty() &&
         !to_string(e.status).empty() && one_of(e.key_scope, {"", "personal", "tenant"}) &&
         !to_string(e.operation).empty() && e.prompt_tokens >= 0 && e.completion_tokens >= 0 &&
         e.cached_tokens >= 0 && e.reasoning_tokens >= 0 && e.latency_ms >= 0;
}

namespace {

/// Rows in the binary format of `COPY ... FROM STDIN (FORMAT binary)`: per row a column count,
/// then per column a byte length (-1 for NULL) and the value in PostgreSQL's send format, all
/// integers big-endian. PostgreSQL then parses no text per value (benchmarks/README.md has
/// the figures).
/// Text values go as they are, but for NUL bytes, which no PostgreSQL text can hold: they are
/// dropped rather than failing the batch. (Other bytes need no escaping here; a value's UTF-8
/// was checked by the JSON parser it came from, and PostgreSQL checks it again.)
class copy_rows {
 public:
  explicit copy_rows(std::size_t rows) : out_(19 + rows * row_bytes + 2, '\0') {
    std::memcpy(out_.data(), "PGCOPY\n\xff\r\n\0", 11);
    p_ = out_.data() + 11;
    put32(0);  // flags
    put32(0);  // header extension length
  }

  copy_rows& row(std::uint16_t columns) {
    room(2);
    put16(columns);
    return *this;
  }

  copy_rows& text(std::string_view v) {
    room(4 + v.size());
    char* length = p_;
    p_ += 4;
    for (auto nul = v.find('\0'); nul != std::string_view::npos; nul = v.find('\0')) {
      std::memcpy(p_, v.data(), nul);
      p_ += nul;
      v.remove_prefix(nul + 1);
    }
    std::memcpy(p_, v.data(), v.size());
    p_ += v.size();
    store32(length, static_cast<std::uint32_t>(p_ - length - 4));
    return *this;
  }
  /// An empty value is NULL.
  copy_rows& text_or_null(std::string_view v) { return v.empty() ? null() : text(v); }
  /// A UUID checked by `is_uuid`: 32 hex digits, dashes after the 8th, 12th, 16th
  /// and 20th.
  copy_rows& uuid(std::string_view v) {
    room(4 + 16);
    put32(16);
    static constexpr std::array<std::uint8_t, 16> at{0,  2,  4,  6,  9,  11, 14, 16,
                                                     19, 21, 24, 26, 28, 30, 32, 34};
    for (std::size_t i = 0; i < at.size(); ++i)
      *p_++ = static_cast<char>(hex[static_cast<unsigned char>(v[at[i]])] << 4 |
                                hex[static_cast<unsigned char>(v[at[i] + 1])]);
    return *this;
  }
  /// An empty value is NULL.
  copy_rows& uuid_or_null(std::string_view v) { return v.empty() ? null() : uuid(v); }
  copy_rows& number(std::int64_t n) {
    room(4 + 8);
    put32(8);
    put64(static_cast<std::uint64_t>(n));
    return *this;
  }
  copy_rows& boolean(bool b) {
    room(4 + 1);
    put32(1);
    *p_++ = b ? 1 : 0;
    return *this;
  }
  /// Microseconds since the Unix epoch; PostgreSQL counts them from 2000-01-01 UTC.
  copy_rows& timestamp(std::int64_t unix_us) {
    constexpr std::int64_t pg_epoch_us = 946'684'800LL * 1'000'000;
    room(4 + 8);
    put32(8);
    put64(static_cast<std::uint64_t>(unix_us - pg_epoch_us));
    return *this;
  }
  std::string done() {
    room(2);
    put16(0xffff);  // the trailer: a column count of -1
    out_.resize(static_cast<std::size_t>(p_ - out_.data()));
    return std::move(out_);
  }

 private:
  static constexpr auto hex = [] {
    std::array<std::uint8_t, 256> t{};
    for (int c = 0; c < 10; ++c) t['0' + c] = static_cast<std::uint8_t>(c);
    for (int c = 0; c < 6; ++c) t['a' + c] = t['A' + c] = static_cast<std::uint8_t>(10 + c);
    return t;
  }();

  copy_rows& null() {
    room(4);
    put32(0xffffffff);
    return *this;
  }
  /// A usual row's size (18 columns, ids of usual length): a batch of them fits the first
  /// buffer.
  static constexpr std::size_t row_bytes = 256;

  /// Makes room for `n` more bytes; the writes after it check nothing.
  void room(std::size_t n) {
    if (n > static_cast<std::size_t>(out_.data() + out_.size() - p_)) grow(n);
  }
  [[gnu::noinline]] void grow(std::size_t n) {
    auto used = static_cast<std::size_t>(p_ - out_.data());
    out_.resize(std::max(out_.size() * 2, used + n));
    p_ = out_.data() + used;
  }
  void put16(std::uint16_t v) {
    *p_++ = static_cast<char>(v >> 8);
    *p_++ = static_cast<char>(v);
  }
  void put32(std::uint32_t v) {
    store32(p_, v);
    p_ += 4;
  }
  void put64(std::uint64_t v) {
    put32(static_cast<std::uint32_t>(v >> 32));
    put32(static_cast<std::uint32_t>(v));
  }
  static void store32(char* b, std::uint32_t v) {
    b[0] = static_cast<char>(v >> 24);
    b[1] = static_cast<char>(v >> 16);
    b[2] = static_cast<char>(v >> 8);
    b[3] = static_cast<char>(v);
  }

  std::string out_;  ///< grown ahead of the writes; `p_` is where the next byte goes
  char* p_;
};

/// One COPY for all `rows`. COPY inserts a batch's rows together (one WAL record and one page
/// lock per page, not per row) and parses no SQL per row: PostgreSQL spent about a third less
/// per row than on the earlier INSERT ... SELECT FROM unnest(arrays) (benchmarks/README.md).
statement copy_statement(const std::vector<usage_event>& rows) {
  copy_rows out{rows.size()};
  for (const auto& e : rows) {
    out.row(18)
        .uuid(e.tenant_id)
        .uuid_or_null(e.user_id)
        .text(e.request_id)
        .text(e.provider)
        .text(e.model)
        .uuid_or_null(e.key_id)
        .text_or_null(e.key_scope)
        .boolean(e.fallback)
        .text(to_string(e.status))
        .number(e.prompt_tokens)
        .number(e.completion_tokens)
        .number(e.latency_ms)
        .timestamp(e.at_us)
        .uuid_or_null(e.run_id)
        .uuid_or_null(e.item_id)
        .number(e.cached_tokens)
        .number(e.reasoning_tokens)
        .text(to_string(e.operation));
  }
  statement st{
      "COPY usage_events (tenant_id, user_id, request_id, provider, model, key_id, key_scope, "
      "fallback, status, prompt_tokens, completion_tokens, latency_ms, created_at, run_id, "
      "item_id, cached_tokens, reasoning_tokens, operation) "
      "FROM STDIN (FORMAT binary)"};
  st.copy_data = out.done();
  return st;
}

/// After a failed batch the next try waits this long at least: a database that is down
/// answers at once, and every answer logs a line.
constexpr std::chrono::milliseconds retry_delay{1000};

/// Transient failures put the batch back; anything else (a constraint the validation missed)
/// would fail again forever, so the batch is dropped and logged.
bool transient(db_errc e) {
  return e == db_errc::unavailable || e == db_errc::connection_lost || e == db_errc::timeout ||
         e == db_errc::overloaded || e == db_errc::serialization_failure;
}

class recorder final : public usage_recorder, public std::enable_shared_from_this<recorder> {
 public:
  recorder(asio::io_context& io, database& db, usage_settings s)
      : strand_(asio::make_strand(io)), db_(db), settings_(s), timer_(strand_) {}

  void start() {}

  void record(usage_event e) override {
    if (e.at_us == 0)
      e.at_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    if (!valid_usage_event(e)) {
      telemetry::log_warn("usage row refused", {{"request_id", e.request_id}});
      dropped_.fetch_add(1, std::memory_order_relaxed);
      telemetry::metrics().usage_dropped.inc();
      return;
    }
    bool kick = false;
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (stopped_ || pending_.size() >= settings_.max_pending) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        telemetry::metrics().usage_dropped.inc();
        return;
      }
      pending_.push_back(std::move(e));
      kick = pending_.size() == settings_.batch_rows && !in_flight_;
      // The first row after a quiet spell starts the clock (once per batch, not per row).
      wake = !kick && !in_flight_ && !timer_armed_;
      if (wake) timer_armed_ = true;
    }
    if (kick) asio::post(strand_, [self = shared_from_this()] { self->flush(); });
    if (wake) {
      asio::post(strand_,
                 [self = shared_from_this()] { self->arm(self->settings_.flush_interval); });
    }
  }

  void flush_and_stop(std::chrono::milliseconds timeout) override {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
    }
    asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
    auto deadline = std::chrono::steady_clock::now() + timeout;
    // Wait for a batch in flight, then write the rest synchronously.
    for (;;) {
      std::vector<usage_event> batch;
      {
        std::unique_lock lock(mutex_);
        idle_.wait_until(lock, deadline, [&] { return !in_flight_; });
        if (in_flight_ || pending_.empty()) break;
        take(batch);
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      auto reply = db_.execute_blocking(single(copy_statement(batch)), left);
      if (!reply.ok()) {
        telemetry::log_error("usage flush at shutdown failed",
                             {{"rows", static_cast<long long>(batch.size())},
                              {"error", std::string{to_string(reply.error)}}});
        break;
      }
      note_written(batch.size());
    }
    std::lock_guard lock(mutex_);
    if (!pending_.empty()) {
      telemetry::log_error("usage rows lost at shutdown",
                           {{"rows", static_cast<long long>(pending_.size())}});
      dropped_.fetch_add(pending_.size(), std::memory_order_relaxed);
      telemetry::metrics().usage_dropped.inc(pending_.size());
      pending_.clear();
    }
  }

  std::uint64_t written() const override { return written_.load(); }
  std::uint64_t dropped() const override { return dropped_.load(); }

 private:
  /// On the strand: the oldest waiting row goes out within flush_interval. Armed only while
  /// rows wait (an idle node's background thread sleeps).
  void arm(std::chrono::milliseconds after) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      {
        std::lock_guard lock(self->mutex_);
        self->timer_armed_ = false;
      }
      self->flush();
    });
  }

  /// Takes up to one batch; called with the mutex held.
  void take(std::vector<usage_event>& batch) {
    auto n = std::min(pending_.size(), settings_.batch_rows);
    batch.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
  }

  void note_written(std::size_t n) {
    written_.fetch_add(n, std::memory_order_relaxed);
    telemetry::metrics().usage_written.inc(n);
  }

  /// On the strand: sends one batch unless one is in flight; re-arms the timer.
  void flush() {
    auto batch = std::make_shared<std::vector<usage_event>>();
    {
      std::lock_guard lock(mutex_);
      if (stopped_ || in_flight_ || pending_.empty()) return;
      take(*batch);
      in_flight_ = true;
      timer_armed_ = false;
    }
    timer_.cancel();
    db_.execute(single(copy_statement(*batch)), [self = shared_from_this(), batch](db_reply r) {
      asio::post(self->strand_, [self, batch, r = std::move(r)] { self->done(*batch, r); });
    });
  }

  void done(std::vector<usage_event>& batch, const db_reply& r) {
    bool more = false;
    {
      std::lock_guard lock(mutex_);
      if (r.ok()) {
        note_written(batch.size());
      } else if (transient(r.error) && !stopped_) {
        // Back to the front, oldest first, as far as the queue bound allows.
        auto room =
            settings_.max_pending > pending_.size() ? settings_.max_pending - pending_.size() : 0;
        auto keep = std::min(room, batch.size());
        pending_.insert(pending_.begin(), std::make_move_iterator(batch.begin()),
                        std::make_move_iterator(batch.begin() + static_cast<long>(keep)));
        dropped_.fetch_add(batch.size() - keep, std::memory_order_relaxed);
        telemetry::metrics().usage_dropped.inc(batch.size() - keep);
      } else {
        dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
        telemetry::metrics().usage_dropped.inc(batch.size());
      }
      in_flight_ = false;
      more = r.ok() && pending_.size() >= settings_.batch_rows && !stopped_;
    }
    idle_.notify_all();
    if (!r.ok())
      telemetry::log_warn("usage batch not written",
                          {{"rows", static_cast<long long>(batch.size())},
                           {"error", std::string{to_string(r.error)}}});
    if (more) return flush();
    bool rearm = false;
    {
      std::lock_guard lock(mutex_);
      rearm = !stopped_ && !pending_.empty() && !timer_armed_;
      if (rearm) timer_armed_ = true;
    }
    if (rearm)
      arm(r.ok() ? settings_.flush_interval : std::max(settings_.flush_interval, retry_delay));
  }

  asio::strand<asio::io_context::executor_type> strand_;
  database& db_;
  usage_settings settings_;
  asio::steady_timer timer_;  ///< touched on strand_ only

  std::mutex mutex_;
  std::condition_variable idle_;
  std::deque<usage_event> pending_;
  bool in_flight_ = false;
  bool timer_armed_ = false;  ///< a wait for flush_interval is pending or about to be
  bool stopped_ = false;
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace

std::shared_ptr<usage_recorder> usage_recorder::create(asio::io_context& io, database& db,
                                                       usage_settings settings) {
  settings.batch_rows = std::max<std::size_t>(1, std::min<std::size_t>(settings.batch_rows, 2000));
  auto r = std::make_shared<recorder>(io, db, settings);
  r->start();
  return r;
}

}  // namespace nyxgate::storage
