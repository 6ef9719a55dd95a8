#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "providers/chat.hpp"

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

/// One try of one chain element, as a failed call lists it.
struct attempt_record {
  std::string provider;
  std::string scope;
  unsigned status = 0;  ///< the provider's HTTP status; 0 when nothing came back
  std::string reason;
};

/// Why a call failed. api/ renders each as its wire code (SPEC §3).
enum class call_error : std::uint8_t {
  upstream_failed,       ///< every attempt of the chain failed
  upstream_timeout,      ///< the call's deadline passed first
  upstream_rejected,     ///< the provider refused the request itself: no failover
  keys_unavailable,      ///< the tenant's keys could not be loaded
  no_provider_key,       ///< no usable key for the model
  invalid_request,       ///< the model or a parameter the chain cannot take (`code` says which)
  server_shutting_down,  ///< the shutdown grace ran out before the commit
  stream_interrupted,    ///< the stream broke after the commit
};

/// A call that ends without its answer. Before the commit it is the whole answer (status,
/// served headers); after it, the end of a stream that already sent content.
struct call_failure {
  call_error error = call_error::upstream_failed;
  unsigned status = 502;
  std::string message;
  std::string param;  ///< the request field the error names, if any
  std::string code;   ///< invalid_request: the request error's own code (unknown_model, ...)
  std::string type;   ///< upstream_rejected: the provider's error type, if it gave one
  std::vector<attempt_record> attempts;  ///< upstream_failed, upstream_timeout
  served_by who;
};

/// One piece of a stream: the first starts the assistant's role, the last carries the finish
/// reason. Views into the request actor's event; valid during the `content` call only.
struct content_delta {
  std::string_view content;
  bool role_start = false;
  std::string_view finish_reason;
  std::span<const providers::tool_call_delta> tool_calls{};  ///< tool call pieces, in order
};

/// A call that ended with its answer.
struct call_result {
  std::string_view finish_reason;  ///< stop | length | content_filter | tool_calls
  providers::token_usage usage;
  const providers::chat_completion* completion = nullptr;  ///< the whole answer (no stream)
};

/// Why the client's side stops a call before its end.
enum class call_stop : std::uint8_t {
  client_gone,      ///< the client left or cancelled: nobody reads the answer
  server_stopping,  ///< the shutdown grace is over; the client is still there for a last word
};

/// Where a call's events go: api/ renders them as a JSON answer, Server-Sent Events or
/// WebSocket messages. The request actor calls it for every call, in order: `committed`,
/// `content`... (streams only), then `done`; or `failed` at any point. Implementations are
/// thread-safe and never block.
class call_sink {
 public:
  virtual ~call_sink() = default;
  /// The call committed to a chain element: no failover any more.
  virtual void committed(const served_by& who) = 0;
  /// What one upstream read produced, in order (one write for them all). False once the
  /// reader is gone.
  virtual bool content(std::span<const content_delta> deltas) = 0;
  /// The answer is complete.
  virtual void done(const call_result& result) = 0;
  /// The call failed (before or after the commit).
  virtual void failed(const call_failure& failure) = 0;
  /// Bytes queued and not yet written: the request actor pauses the upstream above a bound.
  virtual std::size_t queued_bytes() const = 0;
  /// `fn` runs (from any thread) each time the queue has been written out.
  virtual void on_drained(std::function<void()> fn) = 0;
  /// `fn` runs once (from any thread) when the call must stop before its end; at once when
  /// that happened already.
  virtual void on_stop(std::function<void(call_stop)> fn) = 0;
};

}  // namespace nyxgate::actors
