#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "providers/chat.hpp"
#include "providers/key_status.hpp"

/// What a call does after an attempt failed (SPEC §3), as pure functions: the request actor
/// applies them, tests check them row by row.
namespace nyxgate::providers {

struct retry_policy {
  int retries = 2;                          ///< extra tries of the same chain element
  std::int64_t backoff_base_ms = 100;       ///< first backoff ceiling; doubles per retry
  std::int64_t backoff_cap_ms = 2000;       ///< ceiling of the exponential backoff
  std::int64_t retry_after_cap_ms = 10000;  ///< a longer Retry-After moves on instead
};

enum class next_step {
  retry_same,     ///< wait `delay_ms`, then try the same element again
  next_element,   ///< move on at once
  answer_client,  ///< return the provider's 4xx to the client; no failover
};

/// The key's new health after a key failure; no status when the key stays as it is.
struct key_verdict {
  std::optional<key_status> status;  ///< invalid | cooldown
  std::string reason;
};

struct decision {
  next_step step = next_step::next_element;
  std::int64_t delay_ms = 0;
  key_verdict key;
};

/// `tries_done` counts tries of this element so far (1 after the first). `jitter` is a
/// uniform draw in [0, 1) (full jitter); tests pass fixed values.
decision decide(const failure& f, int tries_done, const retry_policy& policy, double jitter);

/// Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(tries_done-1))].
std::int64_t backoff_ms(int tries_done, const retry_policy& policy, double jitter);

}  // namespace nyxgate::providers
