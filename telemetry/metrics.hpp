#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace nyxgate::telemetry {

class counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class gauge {
 public:
  void add(std::int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  void sub(std::int64_t n = 1) { value_.fetch_sub(n, std::memory_order_relaxed); }
  void set(std::int64_t n) { value_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

/// Latency histogram with fixed buckets (seconds), lock-free observation.
class histogram {
 public:
  static constexpr std::array<double, 12> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                 0.01,   0.025,   0.05,   0.1,   0.5,    2.5};
  void observe_us(std::uint64_t micros);
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_us_{0};
};

/// Which part of the server a request went to; a fixed set keeps labels bounded.
enum class route_kind : std::uint8_t { health, metrics, trpc, data_plane, blog, other, count_ };

constexpr std::string_view route_name(route_kind r) {
  switch (r) {
    case route_kind::health:
      return "health";
    case route_kind::metrics:
      return "metrics";
    case route_kind::trpc:
      return "trpc";
    case route_kind::data_plane:
      return "v1";
    case route_kind::blog:
      return "blog";
    case route_kind::other:
      return "other";
    case route_kind::count_:
      break;
  }
  return "other";
}

/// The process's metrics. Names follow Prometheus conventions.
struct metric_set {
  static constexpr std::size_t routes = static_cast<std::size_t>(route_kind::count_);
  /// requests by route and status class (1xx..5xx)
  std::array<std::array<counter, 5>, routes> http_requests;
  std::array<histogram, routes> http_latency;
  gauge http_open_connections;
  counter http_rejected_connections;
  counter http_timeouts;
  counter db_queries;
  counter db_query_errors;
  counter db_reconnects;
  gauge db_connections_up;
  counter embedded_pg_restarts;
  counter embedded_pg_restart_failures;
  gauge embedded_pg_up;
  counter auth_failures;
  counter token_cache_hits;
  counter token_cache_misses;
  counter upstream_attempts;
  counter upstream_retries;
  counter failovers;
  counter key_failures;
  counter calls_truncated;
  counter calls_cancelled;
  counter usage_written;
  counter usage_dropped;
  gauge ws_open_sockets;
  gauge ws_queued_bytes;
  gauge ws_streams;
  counter ws_slow_reader_closes;

  void count_request(route_kind route, unsigned status, std::uint64_t micros);
  /// Prometheus text exposition format 0.0.4.
  std::string render() const;
};

metric_set& metrics();

}  // namespace nyxgate::telemetry
