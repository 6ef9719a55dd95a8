#include "storage/postgres_supervisor.hpp"

#include <algorithm>
#include <exception>

#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"

namespace nyxgate::storage {

using clock = std::chrono::steady_clock;

postgres_supervisor::postgres_supervisor(embedded_postgres& pg, supervisor_options opts,
                                         std::function<void()> on_give_up)
    : pg_(pg), opts_(opts), on_give_up_(std::move(on_give_up)) {
  telemetry::metrics().embedded_pg_up.set(1);
  thread_ = std::thread([this] { run(); });
}

postgres_supervisor::~postgres_supervisor() {
  stop();
}

void postgres_supervisor::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool postgres_supervisor::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, d, [this] { return stopping_; });
  return !stopping_;
}

void postgres_supervisor::run() {
  int failures = 0;  // failed restarts in the current outage
  bool restarted = false;
  auto up_since = clock::now();
  while (pause(opts_.check_interval)) {
    pid_t pid = pg_.postmaster_pid();
    auto how = pg_.reap_if_exited();
    if (!how) continue;
    telemetry::metrics().embedded_pg_up.set(0);
    state_ = postgres_state::restarting;
    // A server that dies soon after its restart continues the same outage.
    if (restarted && clock::now() - up_since < opts_.stable_after)
      ++failures;
    else
      failures = 0;
    telemetry::log_error("embedded postgres exited", {{"pid", pid},
                                                      {"status", *how},
                                                      {"cluster_dir", pg_.cluster_dir()},
                                                      {"log_file", pg_.log_file()}});
    if (!recover(failures)) return;
    restarted = true;
    up_since = clock::now();
    state_ = postgres_state::running;
    telemetry::metrics().embedded_pg_up.set(1);
  }
}

bool postgres_supervisor::recover(int& failures) {
  auto& metrics = telemetry::metrics();
  for (;;) {
    if (failures >= opts_.max_restarts) {
      state_ = postgres_state::failed;
      telemetry::log_fatal("embedded postgres could not be restarted; giving up",
                           {{"failed_restarts", failures},
                            {"max_restarts", opts_.max_restarts},
                            {"log_file", pg_.log_file()}});
      if (on_give_up_) on_give_up_();
      return false;
    }
    auto delay = opts_.backoff * (std::int64_t{1} << std::min(failures, 20));
    if (!pause(std::min(delay, std::max(opts_.backoff, opts_.backoff_max)))) return false;
    try {
      pg_.restart();
      metrics.embedded_pg_restarts.inc();
      telemetry::log_warn("embedded postgres restarted",
                          {{"attempt", failures + 1}, {"pid", pg_.postmaster_pid()}});
      return true;
    } catch (const std::exception& e) {
      ++failures;
      metrics.embedded_pg_restart_failures.inc();
      telemetry::log_error("embedded postgres restart failed",
                           {{"attempt", failures}, {"error", e.what()}});
    }
  }
}

}  // namespace nyxgate::storage
