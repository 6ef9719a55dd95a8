#include "runtime/io_runtime.hpp"

#include <boost/asio/defer.hpp>

#include "telemetry/log.hpp"

namespace nyxgate::runtime {

namespace {

thread_local boost::asio::io_context* this_thread_context = nullptr;

/// The calling thread's run_soon steps; `scheduled` while a drain handler is queued or running.
struct soon_queue {
  struct step {
    soon_fn fn;
    void* a;
    void* b;
  };
  static constexpr std::size_t max_in_a_row = 16;
  std::vector<step> steps;
  std::size_t head = 0;
  bool scheduled = false;

  void drain() {
    for (std::size_t ran = 0; head < steps.size() && ran < max_in_a_row; ++ran) {
      auto next = steps[head++];  // a copy: the step may queue more, growing `steps`
      try {
        next.fn(next.a, next.b);
      } catch (...) {
        rest_later();  // the thread's run loop logs it and carries on with the rest
        throw;
      }
    }
    if (head == steps.size()) {
      steps.clear();
      head = 0;
      scheduled = false;
      return;
    }
    rest_later();
  }

  /// The context stopped (its queued drain handler will never run): the steps left run
  /// here, so none is lost; what they start on the stopped context is dropped with it.
  void run_left() {
    while (head < steps.size()) {
      auto next = steps[head++];
      next.fn(next.a, next.b);
    }
    steps.clear();
    head = 0;
    scheduled = false;
  }

  /// The steps not yet run go behind the I/O waiting meanwhile, in one handler again.
  void rest_later() {
    steps.erase(steps.begin(), steps.begin() + static_cast<std::ptrdiff_t>(head));
    head = 0;
    if (steps.empty()) {
      scheduled = false;
      return;
    }
    boost::asio::defer(*this_thread_context, [this] { drain(); });
  }
};

thread_local soon_queue this_thread_soon;

}  // namespace

void run_soon(soon_fn fn, void* a, void* b) {
  auto& queue = this_thread_soon;
  queue.steps.push_back({fn, a, b});
  if (queue.scheduled) return;
  queue.scheduled = true;
  boost::asio::defer(*this_thread_context, [&queue] { queue.drain(); });
}

boost::asio::io_context* current_context() {
  return this_thread_context;
}

boost::asio::io_context& local_context(boost::asio::io_context& fallback) {
  return this_thread_context ? *this_thread_context : fallback;
}

io_runtime::io_runtime(int threads) : background_(std::make_unique<boost::asio::io_context>(1)) {
  auto n = threads < 1 ? 1 : threads;
  for (int i = 0; i < n; ++i)
    shards_.push_back(std::make_unique<boost::asio::io_context>(1));  // one thread each
}

io_runtime::~io_runtime() {
  stop();
  join();
  // The background context first: a pending accept there holds a socket of a shard (its
  // peer), which must still exist when the accept operation is destroyed.
  background_.reset();
  shards_.clear();
}

std::vector<boost::asio::io_context*> io_runtime::shards() const {
  std::vector<boost::asio::io_context*> out;
  for (const auto& s : shards_) out.push_back(s.get());
  return out;
}

boost::asio::io_context& io_runtime::next() {
  return *shards_[next_.fetch_add(1, std::memory_order_relaxed) % shards_.size()];
}

void io_runtime::start() {
  if (!pool_.empty()) return;
  std::vector<boost::asio::io_context*> all{background_.get()};
  for (auto& shard : shards_) all.push_back(shard.get());
  for (auto* context : all) {
    guards_.emplace_back(context->get_executor());
    pool_.emplace_back([ctx = context] {
      this_thread_context = ctx;
      for (;;) {
        try {
          ctx->run();
          this_thread_soon.run_left();
          return;
        } catch (const std::exception& e) {
          // A handler that throws must not take the process down with it.
          telemetry::log_error("unhandled exception in I/O handler", {{"error", e.what()}});
        }
      }
    });
  }
}

void io_runtime::stop() {
  guards_.clear();
  background_->stop();
  for (auto& shard : shards_) shard->stop();
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

}  // namespace nyxgate::runtime
