// SPEC §3's rules for a failed attempt, row by row: retry the same key (with backoff or the
// provider's Retry-After), move on (and mark the key), or hand the 4xx back to the client.
#include <boost/test/unit_test.hpp>

#include "providers/failover.hpp"

using namespace nyxgate::providers;

namespace {

failure make(failure_kind k, unsigned status, std::optional<std::int64_t> retry_after = {}) {
  failure f;
  f.kind = k;
  f.status = status;
  f.reason = "http " + std::to_string(status);
  f.retry_after_ms = retry_after;
  return f;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(failover_test)

BOOST_AUTO_TEST_CASE(each_failure_kind_leads_to_its_step) {
  retry_policy p;  // 2 retries, 100 ms base, 2 s cap, 10 s Retry-After cap
  struct row {
    failure f;
    int tries_done;
    next_step step;
    std::optional<key_status> key;
  };
  const row rows[] = {
      {make(failure_kind::retryable, 503), 1, next_step::retry_same, std::nullopt},
      {make(failure_kind::retryable, 503), 2, next_step::retry_same, std::nullopt},
      {make(failure_kind::retryable, 503), 3, next_step::next_element, std::nullopt},
      {make(failure_kind::retryable, 0), 1, next_step::retry_same, std::nullopt},
      {make(failure_kind::retryable, 429, 1000), 1, next_step::retry_same, std::nullopt},
      {make(failure_kind::retryable, 429, 60000), 1, next_step::next_element, std::nullopt},
      {make(failure_kind::key_invalid, 401), 1, next_step::next_element, key_status::invalid},
      {make(failure_kind::key_invalid, 403), 1, next_step::next_element, key_status::invalid},
      {make(failure_kind::key_quota, 402), 1, next_step::next_element, key_status::cooldown},
      {make(failure_kind::key_quota, 429), 1, next_step::next_element, key_status::cooldown},
      {make(failure_kind::client_error, 400), 1, next_step::answer_client, std::nullopt},
      {make(failure_kind::client_error, 404), 3, next_step::answer_client, std::nullopt},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("status " << r.f.status << " after " << r.tries_done << " tries") {
      auto d = decide(r.f, r.tries_done, p, 0.5);
      BOOST_TEST(static_cast<int>(d.step) == static_cast<int>(r.step));
      BOOST_TEST((d.key.status == r.key));
      if (r.key) BOOST_TEST(d.key.reason == r.f.reason);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_request_that_cannot_be_built_is_neither_retried_nor_the_keys_fault) {
  // The HTTPS client refuses to send a request it cannot write ("request: invalid header", a
  // key with a control character): nothing reached the provider, so retrying cannot help and
  // the key's health is not in question.
  retry_policy p;
  auto f = transport_failure("request: invalid header");
  auto d = decide(f, 1, p, 0.5);
  BOOST_TEST(static_cast<int>(d.step) == static_cast<int>(next_step::next_element));
  BOOST_TEST((d.key.status == std::nullopt));
  BOOST_TEST(d.delay_ms == 0);
  // A transport failure after sending still retries.
  auto sent = decide(transport_failure("connection reset"), 1, p, 0.5);
  BOOST_TEST(static_cast<int>(sent.step) == static_cast<int>(next_step::retry_same));
}

BOOST_AUTO_TEST_CASE(no_retries_configured_moves_on_at_once) {
  retry_policy p;
  p.retries = 0;
  auto d = decide(make(failure_kind::retryable, 500), 1, p, 0.5);
  BOOST_TEST(static_cast<int>(d.step) == static_cast<int>(next_step::next_element));
}

BOOST_AUTO_TEST_CASE(retry_after_is_honoured_exactly_up_to_the_cap) {
  retry_policy p;
  auto d = decide(make(failure_kind::retryable, 429, 1500), 1, p, 0.0);
  BOOST_TEST(d.delay_ms == 1500);
  d = decide(make(failure_kind::retryable, 429, p.retry_after_cap_ms), 1, p, 0.0);
  BOOST_TEST(d.delay_ms == p.retry_after_cap_ms);
  d = decide(make(failure_kind::retryable, 429, p.retry_after_cap_ms + 1), 1, p, 0.0);
  BOOST_TEST(static_cast<int>(d.step) == static_cast<int>(next_step::next_element));
}

BOOST_AUTO_TEST_CASE(backoff_doubles_its_ceiling_and_stops_at_the_cap) {
  retry_policy p;
  p.backoff_base_ms = 100;
  p.backoff_cap_ms = 700;
  // jitter just below 1 shows the ceiling; 0 shows the floor (full jitter starts at 0).
  BOOST_TEST(backoff_ms(1, p, 0.999999) == 99);
  BOOST_TEST(backoff_ms(2, p, 0.999999) == 199);
  BOOST_TEST(backoff_ms(3, p, 0.999999) == 399);
  BOOST_TEST(backoff_ms(4, p, 0.999999) == 699);
  BOOST_TEST(backoff_ms(40, p, 0.999999) == 699);
  BOOST_TEST(backoff_ms(3, p, 0.0) == 0);
  BOOST_TEST(backoff_ms(3, p, 0.5) == 200);
}

BOOST_AUTO_TEST_CASE(full_jitter_spreads_retries_over_the_whole_window) {
  retry_policy p;
  std::int64_t lo = 1 << 30, hi = 0;
  for (int i = 0; i < 100; ++i) {
    auto d = decide(make(failure_kind::retryable, 503), 2, p, i / 100.0);
    lo = std::min(lo, d.delay_ms);
    hi = std::max(hi, d.delay_ms);
  }
  BOOST_TEST(lo == 0);
  BOOST_TEST(hi >= 190);
  BOOST_TEST(hi < 200);
}

BOOST_AUTO_TEST_SUITE_END()
