#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nyxgate::actors {

/// What serves a committed call (SPEC §3): sent as x-nyxgate-* headers or a WebSocket `meta`.
struct served_by {
  std::string provider;
  std::string model;
  std::string key_scope;  ///< personal | tenant
  bool fallback = false;
  int attempts = 0;
  std::int64_t overhead_us = 0;
};

/// Where a streamed call's answer goes: an SSE response or one id of a WebSocket. The request
/// actor calls it in order (commit, chunk..., then done or broken); implementations are
/// thread-safe and never block. Failures before the commit go out as ordinary error answers.
class stream_sink {
 public:
  virtual ~stream_sink() = default;
  /// The call committed: its first content is on the way.
  virtual void commit(const served_by& who) = 0;
  /// One `chat.completion.chunk` (JSON text). False once the reader is gone.
  virtual bool chunk(std::string chunk_json) = 0;
  /// Several chunks in order (what one upstream read produced); a sink may write them at once.
  virtual bool chunks(std::vector<std::string>& chunk_jsons) {
    for (auto& c : chunk_jsons)
      if (!chunk(std::move(c))) return false;
    return true;
  }
  /// The end. `usage_chunk_json` is the final usage chunk when the client asked for it
  /// (stream_options.include_usage), else empty.
  virtual void done(const std::string& finish_reason, std::int64_t prompt_tokens,
                    std::int64_t completion_tokens, std::string usage_chunk_json) = 0;
  /// The stream broke after the commit: no failover is possible any more.
  virtual void broken(const std::string& code, const std::string& message) = 0;
  /// Bytes queued and not yet written: the caller pauses its producer above a bound.
  virtual std::size_t queued_bytes() const = 0;
  /// Called (from any thread) each time the queue has been written out.
  virtual void on_drained(std::function<void()> fn) = 0;
};

}  // namespace nyxgate::actors
