#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/system/error_code.hpp>

namespace nyxgate::runtime {

/// A deadline kept lazily, for deadlines set far more often than they fire (every read or
/// write of a connection): setting one only writes its owner's fields, and the timer's wait
/// stays pending. When the wait fires, the owner compares the clock with the deadline of that
/// moment and waits again if it moved (`wait_until` from its handler). A timer operation per
/// read or write would cost more than the rest of an exchange's bookkeeping.
///
/// A member of its owner (an enable_shared_from_this), used on the owner's executor only.
/// A wait holds its owner as `hold` says.
enum class hold : std::uint8_t {
  strong,  ///< the pending wait keeps the owner alive
  weak,    ///< it does not: a destroyed owner's wait does nothing
};

template <class Executor>
class lazy_deadline {
 public:
  using clock = std::chrono::steady_clock;

  explicit lazy_deadline(const Executor& ex) : timer_(ex) {}

  /// The wait fires no later than `at`, then calls `Member(error_code)` on the owner; a wait
  /// pending for `at` or sooner stays as it is. Only the latest wait calls the owner: one
  /// moved nearer is replaced, not doubled.
  template <auto Member, hold Hold, class Owner>
  void wait_until(clock::time_point at, Owner& owner) {
    if (pending_ && at_ <= at) return;
    pending_ = true;
    at_ = at;
    auto gen = ++gen_;
    timer_.expires_at(at);
    auto handle = [&] {
      if constexpr (Hold == hold::strong)
        return owner.shared_from_this();
      else
        return owner.weak_from_this();
    }();
    timer_.async_wait([this, gen, owner = std::move(handle)](boost::system::error_code ec) {
      auto&& self = lock(owner);
      if (!self || gen != gen_) return;  // the owner is gone, or a nearer wait replaced this
      pending_ = false;
      ((*self).*Member)(ec);
    });
  }

  /// Stops the pending wait; the owner is not called.
  void cancel() {
    ++gen_;
    pending_ = false;
    timer_.cancel();
  }

 private:
  template <class T>
  static const std::shared_ptr<T>& lock(const std::shared_ptr<T>& p) {
    return p;
  }
  template <class T>
  static std::shared_ptr<T> lock(const std::weak_ptr<T>& p) {
    return p.lock();
  }

  boost::asio::basic_waitable_timer<clock, boost::asio::wait_traits<clock>, Executor> timer_;
  clock::time_point at_;
  bool pending_ = false;
  std::uint64_t gen_ = 0;
};

}  // namespace nyxgate::runtime
