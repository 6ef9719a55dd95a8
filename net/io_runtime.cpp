#include "net/io_runtime.hpp"

#include "telemetry/log.hpp"

namespace nyxgate::net {

io_runtime::io_runtime(int threads) : threads_(threads < 1 ? 1 : threads), ctx_(threads_) {}

io_runtime::~io_runtime() {
  stop();
  join();
}

void io_runtime::start() {
  if (!pool_.empty()) return;
  guard_ =
      std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
          ctx_.get_executor());
  for (int i = 0; i < threads_; ++i)
    pool_.emplace_back([this] {
      for (;;) {
        try {
          ctx_.run();
          return;
        } catch (const std::exception& e) {
          // A handler that throws must not take the process down with it.
          telemetry::log_error("unhandled exception in I/O handler", {{"error", e.what()}});
        }
      }
    });
}

void io_runtime::stop() {
  guard_.reset();
  ctx_.stop();
}

void io_runtime::join() {
  for (auto& t : pool_) {
    if (!t.joinable()) continue;
    // Joining from one of our own threads would deadlock; that thread ends on its own.
    if (t.get_id() == std::this_thread::get_id())
      t.detach();
    else
      t.join();
  }
  pool_.clear();
}

}  // namespace nyxgate::net
