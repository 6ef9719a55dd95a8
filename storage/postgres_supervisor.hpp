#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "storage/embedded_postgres.hpp"

namespace nyxgate::storage {

struct supervisor_options {
  /// Restart attempts in a row that may fail before the supervisor gives up.
  int max_restarts = 5;
  /// Wait before the first restart attempt; doubled after each failed one, up to backoff_max.
  std::chrono::milliseconds backoff{500};
  std::chrono::milliseconds backoff_max{30000};
  /// How often the postmaster is checked (a non-blocking waitpid).
  std::chrono::milliseconds check_interval{100};
  /// A restarted server that dies sooner than this counts as a failed restart, so a server that
  /// crashes right after each start still ends in giving up.
  std::chrono::milliseconds stable_after{60000};
};

enum class postgres_state { running, restarting, failed };

/// Watches the embedded postmaster from a thread of its own: reaps it when it exits, restarts
/// it with exponential backoff, and after `max_restarts` failed attempts in a row logs a fatal
/// line and calls `on_give_up` (serve exits non-zero so that an orchestrator replaces the node).
/// Owns `pg` while it runs: stop() before anyone else touches it.
class postgres_supervisor {
 public:
  postgres_supervisor(embedded_postgres& pg, supervisor_options opts,
                      std::function<void()> on_give_up);
  ~postgres_supervisor();
  postgres_supervisor(const postgres_supervisor&) = delete;
  postgres_supervisor& operator=(const postgres_supervisor&) = delete;

  /// Ends the watch; waits for a restart under way to finish. Idempotent.
  void stop();
  postgres_state state() const { return state_.load(std::memory_order_relaxed); }

 private:
  void run();
  /// Sleeps up to `d`; false once stop() was called.
  bool pause(std::chrono::milliseconds d);
  /// Restarts until one attempt succeeds (true) or the attempts run out (false).
  bool recover(int& failures);

  embedded_postgres& pg_;
  supervisor_options opts_;
  std::function<void()> on_give_up_;
  std::atomic<postgres_state> state_{postgres_state::running};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace nyxgate::storage
