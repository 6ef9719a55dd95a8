#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace nyxgate::storage {

class database;

/// How a completion call ended, as `usage_events.status` keeps it.
enum class usage_status : std::uint8_t {
  ok,         ///< answered in full
  error,      ///< failed before its answer
  truncated,  ///< a stream broke after content went out
  cancelled,  ///< the client left, or the server stopped the call
};

/// The column's text for `s`; empty for a value outside the enum.
std::string_view to_string(usage_status s);

/// What a call asked for, as `usage_events.operation` keeps it.
enum class usage_operation : std::uint8_t {
  chat,        ///< POST /v1/chat/completions, the WebSocket, workflows
  embeddings,  ///< POST /v1/embeddings
};

/// The column's text for `o`; empty for a value outside the enum.
std::string_view to_string(usage_operation o);

/// One completion call, as the `usage_events` table keeps it (SPEC §2).
struct usage_event {
  std::string tenant_id;
  std::string user_id;  ///< "" for none
  std::string request_id;
  std::string provider;  ///< "" when no attempt was made
  std::string model;
  std::string key_id;     ///< "" when no key served
  std::string key_scope;  ///< personal | tenant | ""
  bool fallback = false;
  usage_status status = usage_status::ok;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t cached_tokens = 0;     ///< of prompt_tokens
  std::int64_t reasoning_tokens = 0;  ///< of completion_tokens
  usage_operation operation = usage_operation::chat;
  std::int64_t latency_ms = 0;
  std::int64_t at_us = 0;  ///< microseconds since the epoch; 0: when `record` runs
  std::string run_id;      ///< a workflow call's run; "" for none
  std::string item_id;     ///< a workflow call's item; "" for none
};

/// True when the row can be written: a uuid tenant, uuid or empty user and key ids, a known
/// status and scope. Rows that fail are dropped (and logged) instead of poisoning a batch.
bool valid_usage_event(const usage_event& e);

struct usage_settings {
  std::size_t batch_rows = 500;  ///< flush when this many wait
  /// or when the oldest waiting row is this old. Short, so that under moderate traffic a
  /// batch (one COPY, which PostgreSQL runs in one go: 500 rows held a core for 3 ms, and calls
  /// queued behind it) stays small; under heavy traffic the batch fills first.
  std::chrono::milliseconds flush_interval{20};
  std::size_t max_pending = 100000;  ///< beyond: dropped and counted
};

/// Collects usage rows off the request path and writes them in batches (one COPY per batch, at
/// most one batch in flight) through the storage actors, on a timer of the I/O context that
/// runs only while rows wait. `record` never blocks and never touches the database itself. A batch
/// the database refuses for a transient reason goes back to the queue: delivery is at least once.
class usage_recorder {
 public:
  static std::shared_ptr<usage_recorder> create(boost::asio::io_context& io, database& db,
                                                usage_settings settings = {});
  virtual ~usage_recorder() = default;
  /// Thread-safe, O(1), non-blocking.
  virtual void record(usage_event e) = 0;
  /// Writes everything pending and stops the timer; waits at most `timeout`. Used at shutdown.
  virtual void flush_and_stop(std::chrono::milliseconds timeout) = 0;
  /// Rows written so far / dropped because the queue was full (for metrics and tests).
  virtual std::uint64_t written() const = 0;
  virtual std::uint64_t dropped() const = 0;
};

}  // namespace nyxgate::storage
