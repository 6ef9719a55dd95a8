#include "storage/embedded_postgres.hpp"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/pg_fixture.hpp"

namespace nyxgate::storage {
namespace {

namespace fs = std::filesystem;
using testing::sql;
using testing::temp_dir;

embedded_options test_options(const std::string& data_dir) {
  embedded_options opts;
  opts.data_dir = data_dir;
  opts.fast_unsafe = true;
  return opts;
}

std::string scalar(const std::string& conninfo, const std::string& query) {
  auto rows = sql(conninfo, query);
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  BOOST_REQUIRE_EQUAL(rows[0].size(), 1u);
  return rows[0][0];
}

/// The uid PostgreSQL must run as: `postgres` when we are root, else ourselves.
uid_t expected_server_uid() {
  if (geteuid() != 0) return geteuid();
  passwd* pw = getpwnam("postgres");
  BOOST_REQUIRE(pw != nullptr);
  return pw->pw_uid;
}

/// Real uid from /proc/<pid>/status.
uid_t process_uid(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Uid:", 0) == 0) {
      std::istringstream fields(line.substr(4));
      uid_t uid = 0;
      fields >> uid;
      return uid;
    }
  }
  BOOST_FAIL("no Uid line for pid " << pid);
  return 0;
}

/// Live processes whose working directory is `dir` (every PostgreSQL process chdirs there).
std::vector<pid_t> processes_in(const std::string& dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    auto pid = std::atoi(it->path().filename().c_str());
    if (pid <= 0) continue;
    std::error_code link_ec;
    if (fs::read_symlink(it->path() / "cwd", link_ec) == dir) out.push_back(pid);
  }
  return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(storage_embedded_postgres)

BOOST_AUTO_TEST_CASE(first_start_runs_initdb_and_second_start_reuses_the_cluster) {
  auto dir = temp_dir();
  {
    auto pg = embedded_postgres::start(test_options(dir));
    BOOST_TEST(fs::exists(dir + "/postgres/PG_VERSION"));
    BOOST_TEST(scalar(pg->conninfo(), "SELECT current_database()") == "nyxgate");
    BOOST_TEST(scalar(pg->conninfo(), "SELECT current_user") == "nyxgate");
    sql(pg->conninfo(), "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");
  }
  auto version_before = fs::last_write_time(dir + "/postgres/PG_VERSION");
  auto pg = embedded_postgres::start(test_options(dir));
  BOOST_TEST((fs::last_write_time(dir + "/postgres/PG_VERSION") == version_before));
  BOOST_TEST(scalar(pg->conninfo(), "SELECT v FROM kept") == "still here");
}

BOOST_AUTO_TEST_CASE(server_listens_on_no_tcp_port_only_on_its_socket) {
  auto& pg = testing::pg_cluster();
  BOOST_TEST(scalar(pg.conninfo(), "SHOW listen_addresses") == "");
  BOOST_TEST(pg.conninfo().rfind("host=/", 0) == 0);
  BOOST_TEST(fs::exists(pg.socket_dir() + "/.s.PGSQL.5432"));
  BOOST_TEST(pg.socket_dir() == pg.cluster_dir() + "/run");
}

BOOST_AUTO_TEST_CASE(server_log_rotates_by_weekday_under_the_cluster) {
  auto& pg = testing::pg_cluster();
  BOOST_TEST(scalar(pg.conninfo(), "SHOW logging_collector") == "on");
  BOOST_TEST(scalar(pg.conninfo(), "SHOW log_filename") == "postgresql-%a.log");
  BOOST_TEST(scalar(pg.conninfo(), "SHOW log_rotation_age") == "1d");
  BOOST_TEST(scalar(pg.conninfo(), "SHOW log_truncate_on_rotation") == "on");
  auto file = scalar(pg.conninfo(), "SELECT pg_current_logfile()");
  BOOST_TEST(file.rfind("log/postgresql-", 0) == 0, file);
  BOOST_TEST(fs::exists(pg.cluster_dir() + "/" + file), file);
}

BOOST_AUTO_TEST_CASE(server_runs_as_postgres_when_we_are_root) {
  auto& pg = testing::pg_cluster();
  auto want = expected_server_uid();
  if (geteuid() == 0) BOOST_TEST(want != 0u);
  BOOST_TEST(process_uid(pg.postmaster_pid()) == want);
  auto data_directory = scalar(pg.conninfo(), "SELECT current_setting('data_directory')");
  BOOST_TEST(data_directory == pg.cluster_dir());
  struct stat st {};
  BOOST_REQUIRE(stat(data_directory.c_str(), &st) == 0);
  BOOST_TEST(st.st_uid == want);
  BOOST_TEST((st.st_mode & 0777) == 0700u);
}

BOOST_AUTO_TEST_CASE(stop_leaves_no_server_process_and_is_idempotent) {
  auto pg = embedded_postgres::start(test_options(temp_dir()));
  pid_t pid = pg->postmaster_pid();
  BOOST_TEST(pid > 0);
  BOOST_TEST(!processes_in(pg->cluster_dir()).empty());
  pg->stop();
  BOOST_TEST(pg->postmaster_pid() == -1);
  BOOST_TEST((kill(pid, 0) == -1 && errno == ESRCH));
  BOOST_TEST(processes_in(pg->cluster_dir()).empty());
  BOOST_TEST(!fs::exists(pg->cluster_dir() + "/postmaster.pid"));
  BOOST_CHECK_NO_THROW(pg->stop());
  BOOST_CHECK_THROW(sql(pg->conninfo(), "SELECT 1"), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(restart_keeps_data_and_conninfo) {
  auto pg = embedded_postgres::start(test_options(temp_dir()));
  sql(pg->conninfo(), "CREATE TABLE t (v int); INSERT INTO t VALUES (42)");
  auto conninfo = pg->conninfo();
  pid_t before = pg->postmaster_pid();
  pg->restart();
  BOOST_TEST(pg->postmaster_pid() != before);
  BOOST_TEST((kill(before, 0) == -1 && errno == ESRCH));
  BOOST_TEST(pg->conninfo() == conninfo);
  BOOST_TEST(scalar(conninfo, "SELECT v FROM t") == "42");
}

BOOST_AUTO_TEST_CASE(stale_postmaster_pid_of_a_dead_server_does_not_prevent_start) {
  auto dir = temp_dir();
  auto pg = embedded_postgres::start(test_options(dir));
  sql(pg->conninfo(), "CREATE TABLE t (v int); INSERT INTO t VALUES (7)");
  auto pid_file = pg->cluster_dir() + "/postmaster.pid";

  // 1: a pid file left behind by a server that is gone, written back after a clean stop.
  std::string stale;
  {
    std::ifstream in(pid_file);
    stale.assign(std::istreambuf_iterator<char>(in), {});
  }
  pg->stop();
  {
    std::ofstream out(pid_file);
    out << stale;
  }
  pg->restart();
  BOOST_TEST(scalar(pg->conninfo(), "SELECT v FROM t") == "7");

  // 2: a crash: the postmaster is killed, its backends are left to notice; restart() reaps it
  // and starts on the same directory with its pid file still there.
  BOOST_REQUIRE_EQUAL(kill(pg->postmaster_pid(), SIGKILL), 0);
  pg->restart();
  BOOST_TEST(scalar(pg->conninfo(), "SELECT v FROM t") == "7");

  // 3: a pid file naming a live process of the same user that is not this cluster's
  // postmaster (pid reuse after a reboot); here, the shared test cluster's postmaster.
  pid_t other = testing::pg_cluster().postmaster_pid();
  pg->stop();
  {
    std::ofstream out(pid_file);
    out << other << "\n" << pg->cluster_dir() << "\n";
  }
  pg->restart();
  BOOST_TEST(scalar(pg->conninfo(), "SELECT v FROM t") == "7");
}

BOOST_AUTO_TEST_CASE(pid_file_naming_an_exited_unreaped_process_is_cleared) {
  // A dead process its parent has not reaped yet still answers kill(pid, 0), so postgres would
  // take it for a running postmaster and refuse to start.
  auto pg = embedded_postgres::start(test_options(temp_dir()));
  sql(pg->conninfo(), "CREATE TABLE t (v int); INSERT INTO t VALUES (5)");
  pid_t zombie = fork();
  BOOST_REQUIRE(zombie >= 0);
  if (zombie == 0) _exit(0);
  auto state = [&] {
    std::ifstream in("/proc/" + std::to_string(zombie) + "/stat");
    std::string stat;
    std::getline(in, stat);
    return stat.empty() ? '\0' : stat[stat.rfind(')') + 2];
  };
  for (int i = 0; i < 500 && state() != 'Z'; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  BOOST_REQUIRE(state() == 'Z');
  pg->stop();
  {
    std::ofstream out(pg->cluster_dir() + "/postmaster.pid");
    out << zombie << "\n" << pg->cluster_dir() << "\n";
  }
  pg->restart();
  BOOST_TEST(scalar(pg->conninfo(), "SELECT v FROM t") == "5");
  waitpid(zombie, nullptr, 0);
}

BOOST_AUTO_TEST_CASE(conninfo_of_running_finds_the_server_of_a_data_dir_in_use) {
  auto dir = temp_dir();
  embedded_options opts = test_options(dir);
  BOOST_TEST(!embedded_postgres::conninfo_of_running(opts).has_value());
  auto pg = embedded_postgres::start(opts);
  auto found = embedded_postgres::conninfo_of_running(opts);
  BOOST_REQUIRE(found.has_value());
  BOOST_TEST(*found == pg->conninfo());
  BOOST_TEST(scalar(*found, "SELECT current_database()") == "nyxgate");
  pg->stop();
  pg.reset();
  BOOST_TEST(!embedded_postgres::conninfo_of_running(opts).has_value());
}

BOOST_AUTO_TEST_CASE(second_server_on_a_data_dir_in_use_is_refused) {
  auto dir = temp_dir();
  auto pg = embedded_postgres::start(test_options(dir));
  BOOST_CHECK_EXCEPTION(embedded_postgres::start(test_options(dir)), std::runtime_error,
                        [](const std::runtime_error& e) {
                          BOOST_TEST_MESSAGE(e.what());
                          return contains(e.what(), "in use by pid");
                        });
  // Behind the lock file, the live postmaster itself still guards its directory.
  fs::remove(dir + "/postgres.lock");
  BOOST_CHECK_EXCEPTION(embedded_postgres::start(test_options(dir)), std::runtime_error,
                        [&](const std::runtime_error& e) {
                          BOOST_TEST_MESSAGE(e.what());
                          return contains(e.what(),
                                          "in use by pid " + std::to_string(pg->postmaster_pid()));
                        });
  BOOST_TEST(scalar(pg->conninfo(), "SELECT 1") == "1");
}

BOOST_AUTO_TEST_CASE(startup_failure_reports_the_end_of_the_server_log) {
  auto pg = embedded_postgres::start(test_options(temp_dir()));
  pg->stop();
  {
    std::ofstream conf(pg->cluster_dir() + "/postgresql.conf", std::ios::app);
    conf << "no_such_setting_for_the_test = 1\n";
  }
  BOOST_CHECK_EXCEPTION(pg->restart(), std::runtime_error, [](const std::runtime_error& e) {
    BOOST_TEST_MESSAGE(e.what());
    return contains(e.what(), "server exited during startup") &&
           contains(e.what(), "no_such_setting_for_the_test");
  });
  BOOST_TEST(pg->postmaster_pid() == -1);
}

BOOST_AUTO_TEST_CASE(deep_data_dir_puts_the_socket_under_tmp) {
  auto dir = temp_dir() + "/" + std::string(60, 'd') + "/" + std::string(60, 'e');
  std::string socket_dir;
  {
    auto pg = embedded_postgres::start(test_options(dir));
    socket_dir = pg->socket_dir();
    BOOST_TEST(socket_dir.rfind("/tmp/nyxgate-pg-", 0) == 0);
    BOOST_TEST(fs::exists(socket_dir + "/.s.PGSQL.5432"));
    BOOST_TEST(scalar(pg->conninfo(), "SELECT 1") == "1");
    pg->restart();
    BOOST_TEST(pg->socket_dir() == socket_dir);
    BOOST_TEST(scalar(pg->conninfo(), "SELECT 1") == "1");
  }
  BOOST_TEST(!fs::exists(socket_dir));
}

BOOST_AUTO_TEST_CASE(relative_data_dir_under_the_working_directory_works) {
  // The default server.data_dir is ./var: relative, under the working directory.
  auto rel = "nyxgate-embedded-pg-test-" + std::to_string(getpid());
  struct remove_at_exit {
    std::string path;
    ~remove_at_exit() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } guard{rel};
  auto pg = embedded_postgres::start(test_options(rel + "/var"));
  BOOST_TEST(pg->cluster_dir() == fs::canonical(rel).string() + "/var/postgres");
  BOOST_TEST(scalar(pg->conninfo(), "SELECT 1") == "1");
  pg->stop();
}

/// Only as root does the server run as another user (`postgres`) that may lack access.
BOOST_AUTO_TEST_CASE(untraversable_parent_is_reported_not_chmodded,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
                       return boost::test_tools::assertion_result(geteuid() == 0);
                     })) {
  auto base = temp_dir();
  BOOST_REQUIRE(chmod(base.c_str(), 0700) == 0);
  BOOST_CHECK_EXCEPTION(embedded_postgres::start(test_options(base + "/var")), std::runtime_error,
                        [&](const std::runtime_error& e) {
                          BOOST_TEST_MESSAGE(e.what());
                          return contains(e.what(), "directory " + base + " is not traversable");
                        });
  struct stat st {};
  BOOST_REQUIRE(stat(base.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0700u);
}

BOOST_AUTO_TEST_CASE(fresh_database_returns_distinct_working_databases) {
  auto a = testing::fresh_database();
  auto b = testing::fresh_database();
  BOOST_TEST(a != b);
  auto name_a = scalar(a, "SELECT current_database()");
  auto name_b = scalar(b, "SELECT current_database()");
  BOOST_TEST(name_a != name_b);
  sql(a, "CREATE TABLE only_in_a (v int)");
  BOOST_TEST(scalar(a, "SELECT count(*) FROM only_in_a") == "0");
  BOOST_TEST(scalar(b, "SELECT to_regclass('only_in_a') IS NULL") == "t");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace nyxgate::storage
