#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace nyxgate::actors {

/// A provider's circuit breaker, shared by its provider actors on every I/O shard: a provider's
/// health is not a shard's, and per-shard circuits would let threshold × shards calls fail
/// before every shard stops sending. Lock-free: a closed circuit costs one atomic load per
/// attempt, and a success writes only when there were failures to forget.
///
/// Closed: attempts go through; `threshold` retryable failures in a row (across calls) open it.
/// Open: attempts are refused until `cooldown` has passed. Half-open: one probe attempt goes
/// through (others are still refused); its success closes the circuit, its failure opens it for
/// another cool-down, and a probe that ends undecided (cancelled) lets the next attempt probe.
class circuit_breaker {
 public:
  using clock = std::chrono::steady_clock;

  enum class admission : std::uint8_t {
    pass,    ///< closed
    probe,   ///< half-open: this attempt is the probe; report its outcome with probe = true
    refuse,  ///< open: fail the attempt without sending anything
  };

  /// `threshold` 0 never opens.
  circuit_breaker(int threshold, clock::duration cooldown)
      : threshold_(threshold), cooldown_(cooldown) {}

  admission admit(clock::time_point now = clock::now()) {
    auto until = open_until_.load(std::memory_order_acquire);
    if (until == closed) return admission::pass;
    if (now.time_since_epoch().count() < until) return admission::refuse;
    bool idle = false;
    if (probing_.compare_exchange_strong(idle, true, std::memory_order_acq_rel))
      return admission::probe;
    return admission::refuse;
  }

  /// The provider answered (any answer but a retryable failure): the count starts over.
  void succeeded(bool probe) {
    if (failures_.load(std::memory_order_relaxed) != 0)
      failures_.store(0, std::memory_order_relaxed);
    if (open_until_.load(std::memory_order_relaxed) != closed)
      open_until_.store(closed, std::memory_order_release);
    if (probe) probing_.store(false, std::memory_order_release);
  }

  /// A failure that speaks of the provider (5xx, timeout, connection failure).
  void failed(bool probe, clock::time_point now = clock::now()) {
    if (threshold_ <= 0) return;
    if (probe) {
      open(now);
      probing_.store(false, std::memory_order_release);
      return;
    }
    if (failures_.fetch_add(1, std::memory_order_relaxed) + 1 >= threshold_ &&
        open_until_.load(std::memory_order_relaxed) == closed)
      open(now);
  }

  /// An attempt that ended without a verdict on the provider (cancelled by its call).
  void undecided(bool probe) {
    if (probe) probing_.store(false, std::memory_order_release);
  }

  bool is_open(clock::time_point now = clock::now()) const {
    auto until = open_until_.load(std::memory_order_acquire);
    return until != closed && now.time_since_epoch().count() < until;
  }

 private:
  static constexpr std::int64_t closed = 0;

  void open(clock::time_point now) {
    failures_.store(0, std::memory_order_relaxed);
    auto until = (now + cooldown_).time_since_epoch().count();
    open_until_.store(until == closed ? 1 : until, std::memory_order_release);
  }

  const int threshold_;
  const clock::duration cooldown_;
  std::atomic<int> failures_{0};
  std::atomic<std::int64_t> open_until_{closed};  ///< steady clock ticks; `closed` when closed
  std::atomic<bool> probing_{false};
};

}  // namespace nyxgate::actors
