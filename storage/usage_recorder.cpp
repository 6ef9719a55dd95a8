#include "storage/usage_recorder.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <limits>
#include <mutex>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "identity/token.hpp"
#include "storage/database.hpp"
#include "telemetry/json_escape.hpp"
#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"

namespace nyxgate::storage {

namespace asio = boost::asio;

bool valid_usage_event(const usage_event& e) {
  auto uuid_or_empty = [](const std::string& s) { return s.empty() || identity::is_uuid(s); };
  auto one_of = [](const std::string& s, std::initializer_list<std::string_view> allowed) {
    return std::find(allowed.begin(), allowed.end(), s) != allowed.end();
  };
  return identity::is_uuid(e.tenant_id) && uuid_or_empty(e.user_id) && uuid_or_empty(e.key_id) &&
         !e.request_id.empty() && one_of(e.status, {"ok", "error", "truncated", "cancelled"}) &&
         one_of(e.key_scope, {"", "personal", "tenant"}) && e.prompt_tokens >= 0 &&
         e.completion_tokens >= 0 && e.latency_ms >= 0;
}

namespace {

/// Rows in the text format of `COPY ... FROM STDIN`: tab between columns, newline after each
/// row, `\\N` for NULL; backslash, tab, newline and carriage return escaped (a model name may
/// come from a client and hold any of them). NUL bytes, which no PostgreSQL text can hold, are
/// dropped rather than failing the batch.
class copy_rows {
 public:
  explicit copy_rows(std::size_t rows) { out_.reserve(rows * 256); }

  copy_rows& text(std::string_view v) {
    while (!v.empty()) {
      std::size_t run = plain_prefix(v);
      out_.append(v.data(), run);
      if (run == v.size()) break;
      switch (v[run]) {
        case '\\':
          out_.append("\\\\");
          break;
        case '\t':
          out_.append("\\t");
          break;
        case '\n':
          out_.append("\\n");
          break;
        case '\r':
          out_.append("\\r");
          break;
        default:
          break;  // NUL
      }
      v.remove_prefix(run + 1);
    }
    return column();
  }
  /// An empty value is NULL.
  copy_rows& text_or_null(std::string_view v) {
    if (!v.empty()) return text(v);
    out_.append("\\N");
    return column();
  }
  copy_rows& number(std::int64_t n) {
    std::array<char, 24> digits;
    auto end = std::to_chars(digits.begin(), digits.end(), n).ptr;
    out_.append(digits.data(), static_cast<std::size_t>(end - digits.data()));
    return column();
  }
  copy_rows& boolean(bool b) {
    out_.push_back(b ? 't' : 'f');
    return column();
  }
  /// Microseconds since the epoch as a UTC timestamp (`2026-11-23 16:01:58.258441+00`); ends
  /// the row.
  void timestamp_and_end(std::int64_t us) {
    auto secs = us / 1'000'000;
    auto frac = us % 1'000'000;
    if (frac < 0) {
      frac += 1'000'000;
      --secs;
    }
    if (secs != cached_secs_) {  // rows of one batch share their seconds
      std::time_t t = secs;
      std::tm tm{};
      gmtime_r(&t, &tm);
      char buf[80];
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.", tm.tm_year + 1900,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
      cached_ = buf;
      cached_secs_ = secs;
    }
    out_.append(cached_);
    char tail[10] = {'0', '0', '0', '0', '0', '0', '+', '0', '0', '\n'};
    for (int i = 5; i >= 0 && frac > 0; --i, frac /= 10)
      tail[i] = static_cast<char>('0' + frac % 10);
    out_.append(tail, sizeof tail);
  }
  std::string done() { return std::move(out_); }

 private:
  /// How many leading bytes need no escaping: eight at a time while no byte is below 0x20 or a
  /// backslash (a borrow may flag a clean word too; the byte loop then decides).
  static std::size_t plain_prefix(std::string_view v) {
    std::size_t i = 0;
    for (; i + 8 <= v.size(); i += 8) {
      auto w = telemetry::load_word(v.data() + i);
      if (telemetry::has_byte_below(w, 0x20) || telemetry::has_byte(w, '\\')) break;
    }
    while (i < v.size() && !special[static_cast<unsigned char>(v[i])]) ++i;
    return i;
  }
  /// The bytes `text` escapes or drops, by value: a table look-up per byte.
  static constexpr auto special = [] {
    std::array<bool, 256> t{};
    for (unsigned char c : {'\\', '\t', '\n', '\r', '\0'}) t[c] = true;
    return t;
  }();
  copy_rows& column() {
    out_.push_back('\t');
    return *this;
  }

  std::string out_;
  std::string cached_;
  /// No second before the epoch can match it (a row's time is not validated).
  std::int64_t cached_secs_ = std::numeric_limits<std::int64_t>::min();
};

/// One COPY for all `rows`. COPY inserts a batch's rows together (one WAL record and one page
/// lock per page, not per row) and parses no SQL per row: PostgreSQL spent about a third less
/// per row than on the earlier INSERT ... SELECT FROM unnest(arrays) (benchmarks/README.md).
statement copy_statement(const std::vector<usage_event>& rows) {
  copy_rows out{rows.size()};
  for (const auto& e : rows) {
    out.text(e.tenant_id)
        .text_or_null(e.user_id)
        .text(e.request_id)
        .text(e.provider)
        .text(e.model)
        .text_or_null(e.key_id)
        .text_or_null(e.key_scope)
        .boolean(e.fallback)
        .text(e.status)
        .number(e.prompt_tokens)
        .number(e.completion_tokens)
        .number(e.latency_ms)
        .timestamp_and_end(e.at_us);
  }
  statement st{
      "COPY usage_events (tenant_id, user_id, request_id, provider, model, key_id, key_scope, "
      "fallback, status, prompt_tokens, completion_tokens, latency_ms, created_at) FROM STDIN"};
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
