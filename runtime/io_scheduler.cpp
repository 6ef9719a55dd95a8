#include "runtime/io_scheduler.hpp"

#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/execution_unit.hpp>
#include <caf/logger.hpp>
#include <caf/message_id.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include "runtime/io_runtime.hpp"

namespace nyxgate::runtime {

namespace {

namespace asio = boost::asio;

/// CAF's clock, except that an actor that never set a timeout does not wake the clock thread
/// when it ends: CAF cancels every ending actor's timeouts, and a request actor per call,
/// with no timeout of its own, would cost a thread wake-up per call.
class actor_clock final : public caf::detail::thread_safe_actor_clock {
 public:
  using super = caf::detail::thread_safe_actor_clock;

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            std::uint64_t id) override {
    mark(self);
    super::set_ordinary_timeout(t, self, type, id);
  }
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override {
    mark(self);
    super::set_request_timeout(t, self, id);
  }
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         std::uint64_t id) override {
    mark(self);
    super::set_multi_timeout(t, self, type, id);
  }
  void cancel_timeouts(caf::abstract_actor* self) override {
    {
      std::lock_guard lock{mutex_};
      if (timed_.erase(self) == 0) return;
    }
    super::cancel_timeouts(self);
  }

 private:
  void mark(caf::abstract_actor* self) {
    std::lock_guard lock{mutex_};
    timed_.insert(self);
  }

  std::mutex mutex_;
  std::unordered_set<caf::abstract_actor*> timed_;  ///< actors that may have timeouts set
};

/// CAF's scheduler interface on top of an io_context. Each actor that has messages waiting is
/// one handler; CAF's reference-counting contract is the worker's: `enqueue` hands over one
/// reference, released when the actor waits for messages or is done.
class io_coordinator final : public caf::scheduler::abstract_coordinator {
 public:
  io_coordinator(caf::actor_system& sys, io_runtime& io)
      : abstract_coordinator(sys), io_(io), unit_(this) {}

  void enqueue(caf::resumable* job) override { schedule(job); }

  caf::detail::thread_safe_actor_clock& clock() noexcept override { return clock_; }

  /// On an I/O thread the job joins that thread's own queue (`run_soon`): no other
  /// thread is woken, the message is handled where it was sent, and a cascade of messages
  /// (request actor → provider actor → …) runs in one Asio handler. From any other thread
  /// (CAF's clock, the main thread) it is posted to the shards in turn.
  void schedule(caf::resumable* job) {
    auto* here = current_context();
    auto& target = here ? *here : io_.next();
    if (target.stopped()) return run_here(job);
    if (here) {
      return run_soon(
          [](void* self, void* queued) {
            static_cast<io_coordinator*>(self)->resume(static_cast<caf::resumable*>(queued));
          },
          this, job);
    }
    asio::post(target, [this, job] { resume(job); });
  }

 protected:
  void start() override {
    clock_thread_ = std::thread{[this] {
      system().thread_started();
      clock_.run_dispatch_loop();
      system().thread_terminates();
    }};
    abstract_coordinator::start();
  }

  void stop() override {
    stop_actors();
    clock_.cancel_dispatch_loop();
    clock_thread_.join();
  }

 private:
  class unit final : public caf::execution_unit {
   public:
    explicit unit(io_coordinator* owner) : execution_unit(&owner->system()), owner_(owner) {}
    void exec_later(caf::resumable* job) override { owner_->schedule(job); }

   private:
    io_coordinator* owner_;
  };

  void resume(caf::resumable* job) {
    // CAF's spawn makes the spawning thread's "current logger" the system's; with one set,
    // every resume and launch asks it to swap the thread's logging actor id (a lock and a
    // map look-up). CAF's own logging is off
    // (no logger settings, nothing is written), so the shards keep none.
    if (caf::logger::current_logger() != nullptr) caf::logger::set_current_actor_system(nullptr);
    switch (job->resume(&unit_, max_throughput())) {
      case caf::resumable::resume_later: {
        // It used up its share of messages: behind everything queued meanwhile.
        auto& target = local_context(io_.next());
        if (target.stopped()) return run_here(job);
        return asio::post(target, [this, job] { resume(job); });
      }
      case caf::resumable::done:
      case caf::resumable::awaiting_message:
        return caf::intrusive_ptr_release(job);
      case caf::resumable::shutdown_execution_unit:
        return;
    }
  }

  /// After the I/O threads stopped (shutdown: the actor system's destructor still sends exit
  /// messages to CAF's own actors), a job runs on the sending thread, or it would never run and
  /// its actor would leak. Jobs scheduled meanwhile queue behind it: no recursion.
  void run_here(caf::resumable* job) {
    thread_local std::deque<caf::resumable*>* draining = nullptr;
    if (draining) return draining->push_back(job);
    std::deque<caf::resumable*> queue{job};
    draining = &queue;
    while (!queue.empty()) {
      auto* next = queue.front();
      queue.pop_front();
      resume(next);
    }
    draining = nullptr;
  }

  io_runtime& io_;
  unit unit_;
  actor_clock clock_;
  std::thread clock_thread_;
};

}  // namespace

void run_actors_on(caf::actor_system_config& cfg, io_runtime& io) {
  cfg.module_factories.push_back([&io](caf::actor_system& sys) -> caf::actor_system::module* {
    return new io_coordinator(sys, io);
  });
}

}  // namespace nyxgate::runtime
