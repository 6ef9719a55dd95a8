#include "providers/failover.hpp"

#include <algorithm>

namespace nyxgate::providers {

std::int64_t backoff_ms(int tries_done, const retry_policy& policy, double jitter) {
  std::int64_t ceiling = std::max<std::int64_t>(policy.backoff_base_ms, 0);
  for (int i = 1; i < tries_done && ceiling < policy.backoff_cap_ms; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, policy.backoff_cap_ms);
  jitter = std::clamp(jitter, 0.0, 1.0);
  return static_cast<std::int64_t>(static_cast<double>(ceiling) * jitter);
}

decision decide(const failure& f, int tries_done, const retry_policy& policy, double jitter) {
  decision d;
  switch (f.kind) {
    case failure_kind::client_error:
      d.step = next_step::answer_client;
      return d;
    case failure_kind::key_invalid:
      d.key = {key_status::invalid, f.reason};
      return d;
    case failure_kind::key_quota:
      d.key = {key_status::cooldown, f.reason};
      return d;
    case failure_kind::local_error:
      // Nothing was sent: a retry would fail alike, and the provider never judged the key.
      return d;
    case failure_kind::retryable:
      break;
  }
  if (tries_done > policy.retries) return d;
  if (f.retry_after_ms) {
    // A provider asking for a pause longer than we would wait is better served elsewhere.
    if (*f.retry_after_ms > policy.retry_after_cap_ms) return d;
    d.step = next_step::retry_same;
    d.delay_ms = std::max<std::int64_t>(*f.retry_after_ms, 0);
    return d;
  }
  d.step = next_step::retry_same;
  d.delay_ms = backoff_ms(tries_done, policy, jitter);
  return d;
}

}  // namespace nyxgate::providers
