#include "telemetry/metrics.hpp"

#include <cstdio>

namespace nyxgate::telemetry {

void histogram::observe_us(std::uint64_t micros) {
  double secs = static_cast<double>(micros) / 1e6;
  std::size_t i = 0;
  while (i < bounds.size() && secs > bounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(micros, std::memory_order_relaxed);
}

void histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  char buf[64];
  std::uint64_t cumulative = 0;
  auto line = [&](std::string_view le, std::uint64_t v) {
    out.append(name).append("_bucket{").append(labels);
    if (!labels.empty()) out += ',';
    out.append("le=\"").append(le).append("\"} ").append(std::to_string(v)).append("\n");
  };
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::snprintf(buf, sizeof buf, "%g", bounds[i]);
    line(buf, cumulative);
  }
  cumulative += buckets_[bounds.size()].load(std::memory_order_relaxed);
  line("+Inf", cumulative);
  std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(sum_us_.load()) / 1e6);
  out.append(name).append("_sum{").append(labels).append("} ").append(buf).append("\n");
  out.append(name).append("_count{").append(labels).append("} ");
  out.append(std::to_string(count_.load())).append("\n");
}

void metric_set::count_request(route_kind route, unsigned status, std::uint64_t micros) {
  auto r = static_cast<std::size_t>(route);
  if (r >= routes) r = static_cast<std::size_t>(route_kind::other);
  std::size_t cls = status >= 100 && status < 600 ? status / 100 - 1 : 4;
  http_requests[r][cls].inc();
  http_latency[r].observe_us(micros);
}

namespace {

void scalar(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            long long value) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  out.append(name).append(" ").append(std::to_string(value)).append("\n");
}

}  // namespace

std::string metric_set::render() const {
  std::string out;
  out.reserve(8192);
  out += "# HELP nyxgate_http_requests_total HTTP requests answered, by route and status class.\n";
  out += "# TYPE nyxgate_http_requests_total counter\n";
  static constexpr const char* classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t r = 0; r < routes; ++r) {
    for (std::size_t c = 0; c < 5; ++c) {
      out.append("nyxgate_http_requests_total{route=\"")
          .append(route_name(static_cast<route_kind>(r)))
          .append("\",status=\"")
          .append(classes[c])
          .append("\"} ")
          .append(std::to_string(http_requests[r][c].value()))
          .append("\n");
    }
  }
  out +=
      "# HELP nyxgate_http_request_duration_seconds Time from request read to response written.\n";
  out += "# TYPE nyxgate_http_request_duration_seconds histogram\n";
  for (std::size_t r = 0; r < routes; ++r) {
    std::string labels = "route=\"" + std::string(route_name(static_cast<route_kind>(r))) + "\"";
    http_latency[r].render(out, "nyxgate_http_request_duration_seconds", labels);
  }
  scalar(out, "nyxgate_http_open_connections", "gauge", "Open client connections.",
         http_open_connections.value());
  scalar(out, "nyxgate_http_rejected_connections_total", "counter",
         "Connections refused because the connection cap was reached.",
         static_cast<long long>(http_rejected_connections.value()));
  scalar(out, "nyxgate_http_timeouts_total", "counter",
         "Connections closed by a header, body or idle timeout.",
         static_cast<long long>(http_timeouts.value()));
  scalar(out, "nyxgate_db_queries_total", "counter", "Database statements sent.",
         static_cast<long long>(db_queries.value()));
  scalar(out, "nyxgate_db_query_errors_total", "counter", "Database statements that failed.",
         static_cast<long long>(db_query_errors.value()));
  scalar(out, "nyxgate_db_reconnects_total", "counter", "Database reconnection attempts.",
         static_cast<long long>(db_reconnects.value()));
  scalar(out, "nyxgate_db_connections_up", "gauge", "Storage connections currently usable.",
         db_connections_up.value());
  scalar(out, "nyxgate_embedded_postgres_restarts_total", "counter",
         "Restarts of the embedded PostgreSQL after it died.",
         static_cast<long long>(embedded_pg_restarts.value()));
  scalar(out, "nyxgate_embedded_postgres_restart_failures_total", "counter",
         "Restart attempts of the embedded PostgreSQL that failed.",
         static_cast<long long>(embedded_pg_restart_failures.value()));
  scalar(out, "nyxgate_embedded_postgres_up", "gauge",
         "1 while the supervised embedded PostgreSQL runs; 0 when it is down or not used.",
         embedded_pg_up.value());
  scalar(out, "nyxgate_auth_failures_total", "counter",
         "Requests refused for a missing or bad token.",
         static_cast<long long>(auth_failures.value()));
  scalar(out, "nyxgate_token_cache_hits_total", "counter", "Bearer tokens answered from memory.",
         static_cast<long long>(token_cache_hits.value()));
  scalar(out, "nyxgate_token_cache_misses_total", "counter",
         "Bearer tokens looked up in the database.",
         static_cast<long long>(token_cache_misses.value()));
  scalar(out, "nyxgate_upstream_attempts_total", "counter", "Calls sent to a provider.",
         static_cast<long long>(upstream_attempts.value()));
  scalar(out, "nyxgate_upstream_retries_total", "counter",
         "Retries of the same provider key after a retryable failure.",
         static_cast<long long>(upstream_retries.value()));
  scalar(out, "nyxgate_failovers_total", "counter",
         "Moves to the next key or provider of a call's chain.",
         static_cast<long long>(failovers.value()));
  scalar(out, "nyxgate_key_failures_total", "counter",
         "Provider keys put into cooldown or marked invalid by a call.",
         static_cast<long long>(key_failures.value()));
  scalar(out, "nyxgate_calls_truncated_total", "counter",
         "Streamed answers that broke after the first byte went out.",
         static_cast<long long>(calls_truncated.value()));
  scalar(out, "nyxgate_calls_cancelled_total", "counter",
         "Calls whose client went away before the answer was complete.",
         static_cast<long long>(calls_cancelled.value()));
  scalar(out, "nyxgate_usage_rows_written_total", "counter", "usage_events rows written.",
         static_cast<long long>(usage_written.value()));
  scalar(out, "nyxgate_usage_rows_dropped_total", "counter",
         "usage_events rows lost: invalid, queue full, or refused by the database.",
         static_cast<long long>(usage_dropped.value()));
  scalar(out, "nyxgate_ws_open_sockets", "gauge", "Open WebSocket connections.",
         ws_open_sockets.value());
  scalar(out, "nyxgate_ws_queued_bytes", "gauge",
         "Bytes queued for WebSocket clients and not yet written.", ws_queued_bytes.value());
  scalar(out, "nyxgate_ws_streams", "gauge", "Chat streams running over WebSockets.",
         ws_streams.value());
  scalar(out, "nyxgate_ws_slow_reader_closes_total", "counter",
         "WebSockets closed because their reader stopped reading.",
         static_cast<long long>(ws_slow_reader_closes.value()));
  return out;
}

metric_set& metrics() {
  static metric_set instance;
  return instance;
}

}  // namespace nyxgate::telemetry
