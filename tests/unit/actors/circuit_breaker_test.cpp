// The provider circuit's state machine on a clock the test sets: closed, open after N
// retryable failures in a row, half-open after the cool-down with exactly one probe.
#include <boost/test/unit_test.hpp>

#include "actors/circuit.hpp"

using nyxgate::actors::circuit_breaker;
using admission = circuit_breaker::admission;
using namespace std::chrono_literals;

namespace {
const circuit_breaker::clock::time_point t0 = circuit_breaker::clock::time_point{} + 1000s;
}

BOOST_AUTO_TEST_SUITE(circuit_breaker_test)

BOOST_AUTO_TEST_CASE(opens_after_threshold_consecutive_failures_only) {
  circuit_breaker c(3, 30s);
  c.failed(false, t0);
  c.failed(false, t0);
  c.succeeded(false);  // an answer in between: the count starts over
  c.failed(false, t0);
  c.failed(false, t0);
  BOOST_TEST((c.admit(t0) == admission::pass));
  c.failed(false, t0);
  BOOST_TEST((c.admit(t0) == admission::refuse));
  BOOST_TEST((c.admit(t0 + 29s) == admission::refuse));
  BOOST_TEST(c.is_open(t0 + 29s));
}

BOOST_AUTO_TEST_CASE(half_open_lets_one_probe_through_and_its_success_closes) {
  circuit_breaker c(1, 10s);
  c.failed(false, t0);
  BOOST_TEST((c.admit(t0 + 10s) == admission::probe));
  BOOST_TEST((c.admit(t0 + 10s) == admission::refuse), "one probe at a time");
  c.succeeded(true);
  BOOST_TEST((c.admit(t0 + 11s) == admission::pass));
  BOOST_TEST((c.admit(t0 + 11s) == admission::pass));
}

BOOST_AUTO_TEST_CASE(a_failed_probe_opens_for_another_cooldown) {
  circuit_breaker c(2, 10s);
  c.failed(false, t0);
  c.failed(false, t0);
  BOOST_TEST((c.admit(t0 + 10s) == admission::probe));
  c.failed(true, t0 + 12s);
  BOOST_TEST((c.admit(t0 + 21s) == admission::refuse));
  BOOST_TEST((c.admit(t0 + 22s) == admission::probe));
}

BOOST_AUTO_TEST_CASE(a_cancelled_probe_lets_the_next_attempt_probe) {
  circuit_breaker c(1, 10s);
  c.failed(false, t0);
  BOOST_TEST((c.admit(t0 + 10s) == admission::probe));
  c.undecided(true);
  BOOST_TEST((c.admit(t0 + 10s) == admission::probe));
}

BOOST_AUTO_TEST_CASE(threshold_zero_never_opens) {
  circuit_breaker c(0, 10s);
  for (int i = 0; i < 100; ++i) c.failed(false, t0);
  BOOST_TEST((c.admit(t0) == admission::pass));
}

BOOST_AUTO_TEST_SUITE_END()
