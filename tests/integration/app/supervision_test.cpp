// A node on the embedded PostgreSQL: the database dies and cannot be restarted, so the node says
// so — /healthz 503 and its fatal callback, on which `serve` exits non-zero.
#include <signal.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <future>

#include "app/node.hpp"
#include "identity/token.hpp"
#include "tests/integration/eventually.hpp"
#include "tests/integration/pg_fixture.hpp"

namespace {

using namespace std::chrono_literals;

unsigned status_of(nyxgate::app::node& node, const std::string& target) {
  nyxgate::net::http_request req;
  req.method = "GET";
  req.target = target;
  req.request_id = nyxgate::identity::new_request_id();
  req.received_at = std::chrono::steady_clock::now();
  auto promise = std::make_shared<std::promise<unsigned>>();
  auto answer = promise->get_future();
  node.handler()(std::move(req),
                 [promise](nyxgate::net::http_response r) { promise->set_value(r.status); });
  BOOST_REQUIRE(answer.wait_for(20s) == std::future_status::ready);
  return answer.get();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(supervision_test)

BOOST_AUTO_TEST_CASE(embedded_database_that_cannot_restart_fails_healthz_and_calls_on_fatal) {
  nyxgate::config::settings s;
  s.server.data_dir = nyxgate::testing::temp_dir();
  s.server.listen = "127.0.0.1:0";
  s.server.shutdown_grace_ms = 200;
  s.database.pool_size = 1;
  s.database.embedded_fast_unsafe = true;
  s.database.embedded_max_restarts = 1;
  s.database.embedded_restart_backoff_ms = 20;
  s.database.embedded_restart_backoff_max_ms = 20;
  std::atomic<bool> fatal{false};
  nyxgate::app::node node(s, [&] { fatal = true; });
  BOOST_TEST(status_of(node, "/healthz") == 200u);
  BOOST_TEST(status_of(node, "/readyz") == 200u);

  auto cluster = s.server.data_dir + "/postgres";
  {
    std::ofstream conf(cluster + "/postgresql.conf", std::ios::app);
    conf << "no_such_setting_for_the_test = 1\n";
  }
  pid_t postmaster = 0;
  std::ifstream(cluster + "/postmaster.pid") >> postmaster;
  BOOST_REQUIRE(postmaster > 0);
  BOOST_REQUIRE_EQUAL(kill(postmaster, SIGKILL), 0);

  BOOST_REQUIRE(nyxgate::testing::eventually([&] { return fatal.load(); }, 60s));
  BOOST_TEST(status_of(node, "/healthz") == 503u);
  BOOST_TEST(status_of(node, "/readyz") == 503u);
  node.shutdown();
}

BOOST_AUTO_TEST_SUITE_END()
