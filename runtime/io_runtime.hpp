#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace nyxgate::runtime {

/// The I/O threads: one io_context per thread (a shard). A connection lives on one shard, and
/// so does everything its calls do (actors included, see runtime/io_scheduler.hpp): a call's
/// steps queue behind each other on one thread instead of waking another, and no io_context
/// lock is shared between threads. One more thread runs the background context: database
/// connections, the acceptor, timers and batch writers, so that building a large batch never
/// stalls a shard's clients.
class io_runtime {
 public:
  explicit io_runtime(int threads);
  ~io_runtime();
  io_runtime(const io_runtime&) = delete;
  io_runtime& operator=(const io_runtime&) = delete;

  /// The background context (not a shard).
  boost::asio::io_context& context() { return *background_; }
  /// Every shard, for spreading connections.
  std::vector<boost::asio::io_context*> shards() const;
  /// Shards in turn.
  boost::asio::io_context& next();
  /// Launches the threads; a work guard keeps them alive until stop().
  void start();
  void stop();
  void join();

 private:
  using guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::unique_ptr<boost::asio::io_context> background_;
  std::vector<std::unique_ptr<boost::asio::io_context>> shards_;
  std::vector<guard> guards_;
  std::vector<std::thread> pool_;
  std::atomic<std::size_t> next_{0};
};

/// The io_context the calling thread runs (an io_runtime shard or background context), or
/// `fallback` on any other thread.
boost::asio::io_context& local_context(boost::asio::io_context& fallback);
/// The calling thread's io_context (shard or background), or null.
boost::asio::io_context* current_context();

/// A step for run_soon: a plain function and its two arguments (an owner and a job, say), so
/// queueing one allocates nothing.
using soon_fn = void (*)(void*, void*);

/// Runs `fn(a, b)` on the calling thread after the running handler returns, as `asio::defer`
/// onto current_context() would, but the steps queued this way while earlier ones run share
/// one Asio handler (up to 16 in a row, then I/O gets its turn). Asio's scheduler polls epoll
/// (a syscall) between any two handlers while more wait, and a completion call took about
/// eight such hops (actor to actor, actor to session) when each was a handler of its own.
/// Steps run in the order queued; `fn` must not throw. Only on an io_runtime thread, while
/// its context runs: steps still queued when it stops run on that thread before it ends
/// (what they start on the stopped context is dropped with it).
void run_soon(soon_fn fn, void* a, void* b);

/// run_soon for a callable (a lambda holding what it needs): moved to the heap, one
/// allocation, freed after it ran.
template <class Fn>
void run_soon(Fn&& fn) {
  using callable = std::decay_t<Fn>;
  run_soon(
      [](void* queued, void*) {
        std::unique_ptr<callable> f{static_cast<callable*>(queued)};
        (*f)();
      },
      new callable(std::forward<Fn>(fn)), nullptr);
}

}  // namespace nyxgate::runtime
