#include "net/io_runtime.hpp"

#include "telemetry/log.hpp"

namespace nyxgate::net {

namespace {
thread_local boost::asio::io_context* this_thread_context = nullptr;
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

}  // namespace nyxgate::net
