// The supervisor of the embedded PostgreSQL: a killed postmaster is reaped (no zombie), its
// lock taken over by a restarted server on the same data, restarts are logged and counted, and
// a server that cannot be brought back ends in giving up.
#include "storage/postgres_supervisor.hpp"

#include <signal.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "telemetry/metrics.hpp"
#include "tests/integration/eventually.hpp"
#include "tests/integration/pg_fixture.hpp"

namespace nyxgate::storage {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::eventually;
using testing::sql;

embedded_options test_options() {
  embedded_options opts;
  opts.data_dir = testing::temp_dir();
  opts.fast_unsafe = true;
  return opts;
}

supervisor_options quick(int max_restarts) {
  supervisor_options o;
  o.max_restarts = max_restarts;
  o.backoff = 20ms;
  o.backoff_max = 100ms;
  o.check_interval = 10ms;
  return o;
}

/// The state letter of /proc/<pid>/stat ('Z': exited, not reaped), or 0 when the pid is gone.
char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return 0;
  return stat[stat.rfind(')') + 2];
}

pid_t pid_in_lock_file(const embedded_postgres& pg) {
  std::ifstream in(pg.cluster_dir() + "/postmaster.pid");
  pid_t pid = 0;
  in >> pid;
  return pid;
}

void break_configuration(const embedded_postgres& pg) {
  std::ofstream conf(pg.cluster_dir() + "/postgresql.conf", std::ios::app);
  conf << "no_such_setting_for_the_test = 1\n";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(storage_postgres_supervisor)

BOOST_AUTO_TEST_CASE(killed_postmaster_is_reaped_and_restarted_on_the_same_data) {
  auto pg = embedded_postgres::start(test_options());
  // fast_unsafe commits asynchronously: the checkpoint puts the row where a kill cannot lose it.
  sql(pg->conninfo(), "CREATE TABLE t (v int); INSERT INTO t VALUES (42)");
  sql(pg->conninfo(), "CHECKPOINT");
  auto restarts_before = telemetry::metrics().embedded_pg_restarts.value();
  std::atomic<bool> gave_up{false};
  postgres_supervisor supervisor(*pg, quick(3), [&] { gave_up = true; });

  pid_t victim = pg->postmaster_pid();
  BOOST_REQUIRE(victim > 0);
  BOOST_REQUIRE_EQUAL(kill(victim, SIGKILL), 0);
  BOOST_TEST(eventually([&] { return process_state(victim) == 0; }, 5s),
             "the postmaster is reaped");
  BOOST_REQUIRE(eventually(
      [&] { return telemetry::metrics().embedded_pg_restarts.value() == restarts_before + 1; },
      30s));
  supervisor.stop();

  pid_t fresh = pg->postmaster_pid();
  BOOST_TEST(fresh > 0);
  BOOST_TEST(fresh != victim);
  BOOST_TEST(pid_in_lock_file(*pg) == fresh, "the new server holds postmaster.pid");
  BOOST_TEST(sql(pg->conninfo(), "SELECT v FROM t").at(0).at(0) == "42");
  BOOST_TEST((supervisor.state() == postgres_state::running));
  BOOST_TEST(telemetry::metrics().embedded_pg_up.value() == 1);
  BOOST_TEST(!gave_up);
}

BOOST_AUTO_TEST_CASE(server_that_cannot_restart_ends_in_giving_up) {
  auto pg = embedded_postgres::start(test_options());
  auto failures_before = telemetry::metrics().embedded_pg_restart_failures.value();
  std::atomic<int> gave_up{0};
  postgres_supervisor supervisor(*pg, quick(2), [&] { ++gave_up; });
  break_configuration(*pg);
  BOOST_REQUIRE_EQUAL(kill(pg->postmaster_pid(), SIGKILL), 0);

  BOOST_REQUIRE(eventually([&] { return gave_up.load() == 1; }, 60s));
  BOOST_TEST((supervisor.state() == postgres_state::failed));
  BOOST_TEST(telemetry::metrics().embedded_pg_restart_failures.value() == failures_before + 2);
  BOOST_TEST(telemetry::metrics().embedded_pg_up.value() == 0);
  BOOST_TEST(pg->postmaster_pid() == -1);
  supervisor.stop();
  BOOST_TEST(gave_up.load() == 1);
}

BOOST_AUTO_TEST_CASE(server_dying_again_soon_after_its_restart_counts_as_a_failed_restart) {
  auto pg = embedded_postgres::start(test_options());
  std::atomic<bool> gave_up{false};
  auto restarts_before = telemetry::metrics().embedded_pg_restarts.value();
  postgres_supervisor supervisor(*pg, quick(1), [&] { gave_up = true; });
  BOOST_REQUIRE_EQUAL(kill(pg->postmaster_pid(), SIGKILL), 0);
  BOOST_REQUIRE(eventually(
      [&] { return telemetry::metrics().embedded_pg_restarts.value() == restarts_before + 1; },
      30s));
  BOOST_REQUIRE(eventually([&] { return pg->postmaster_pid() > 0; }, 5s));
  BOOST_REQUIRE_EQUAL(kill(pg->postmaster_pid(), SIGKILL), 0);
  BOOST_TEST(eventually([&] { return gave_up.load(); }, 30s));
  BOOST_TEST((supervisor.state() == postgres_state::failed));
}

BOOST_AUTO_TEST_CASE(stop_ends_the_watch_and_leaves_the_server_to_its_owner) {
  auto pg = embedded_postgres::start(test_options());
  {
    postgres_supervisor supervisor(*pg, quick(3), {});
    supervisor.stop();
    supervisor.stop();
  }
  pid_t pid = pg->postmaster_pid();
  BOOST_TEST(pid > 0);
  pg->stop();
  BOOST_TEST(process_state(pid) == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace nyxgate::storage
