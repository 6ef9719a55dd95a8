#include "storage/usage_retention.hpp"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>

#include "storage/async.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::storage {

namespace {

namespace asio = boost::asio;

/// One batch: the oldest-first scan stops after `batch_rows` expired rows (an append-only
/// table keeps them at the start of the heap), and the count says whether more may wait.
statement expire_batch(int days, std::int64_t rows) {
  statement st{
      "WITH doomed AS (SELECT ctid FROM usage_events "
      "WHERE created_at < now() - make_interval(days => $1::integer) LIMIT $2::integer), "
      "gone AS (DELETE FROM usage_events u USING doomed WHERE u.ctid = doomed.ctid RETURNING 1) "
      "SELECT count(*) FROM gone"};
  st.bind(std::to_string(days)).bind(std::to_string(rows));
  return st;
}

class retention_impl final : public usage_retention,
                             public std::enable_shared_from_this<retention_impl> {
 public:
  retention_impl(asio::io_context& io, database& db, retention_settings s)
      : strand_(asio::make_strand(io)), timer_(strand_), db_(db), settings_(s) {}

  void run() {
    asio::co_spawn(
        strand_, [self = shared_from_this()] { return self->loop(); }, asio::detached);
  }

  void stop() override {
    asio::dispatch(strand_, [self = shared_from_this()] {
      self->stopped_ = true;
      self->timer_.cancel();
    });
  }

  std::uint64_t deleted() const override { return deleted_.load(std::memory_order_relaxed); }

 private:
  asio::awaitable<void> wait(std::chrono::milliseconds d) {
    timer_.expires_after(d);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  asio::awaitable<void> loop() {
    co_await wait(std::min(settings_.interval, std::chrono::milliseconds(60000)));
    while (!stopped_) {
      std::uint64_t pass = 0;
      while (!stopped_) {
        auto reply = co_await async_execute(
            db_, single(expire_batch(settings_.retention_days, settings_.batch_rows)));
        if (!reply.ok()) {
          telemetry::log_warn("usage retention pass failed; the next pass tries again",
                              {{"error", to_string(reply.error)}});
          break;
        }
        auto n = std::stoll(reply.results.front().at(0, 0));
        pass += static_cast<std::uint64_t>(n);
        deleted_.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
        if (n < settings_.batch_rows) break;
        co_await wait(settings_.pause);
      }
      if (pass > 0)
        telemetry::log_info("usage rows expired",
                            {{"rows", pass}, {"retention_days", settings_.retention_days}});
      if (!stopped_) co_await wait(settings_.interval);
    }
  }

  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timer_;
  database& db_;
  retention_settings settings_;
  bool stopped_ = false;  ///< on the strand only
  std::atomic<std::uint64_t> deleted_{0};
};

}  // namespace

std::shared_ptr<usage_retention> usage_retention::start(asio::io_context& io, database& db,
                                                        retention_settings settings) {
  auto r = std::make_shared<retention_impl>(io, db, settings);
  if (settings.retention_days > 0) r->run();
  return r;
}

}  // namespace nyxgate::storage
