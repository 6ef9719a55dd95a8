#include "tests/integration/pg_fixture.hpp"

#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace nyxgate::testing {
namespace {

/// Everything the run created, torn down once: the cluster first, then the directories.
struct run_state {
  std::mutex mutex;
  std::unique_ptr<storage::embedded_postgres> cluster;
  std::vector<std::string> dirs;
  std::atomic<unsigned> databases{0};

  std::string make_dir() {
    std::string templ = "/tmp/nyxgate-test-XXXXXX";
    if (!mkdtemp(templ.data()))
      throw std::runtime_error("mkdtemp: " + std::string{std::strerror(errno)});
    ::chmod(templ.c_str(), 0755);
    dirs.push_back(templ);
    return templ;
  }

  void teardown() {
    std::lock_guard lock(mutex);
    cluster.reset();
    for (const auto& d : dirs) {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
    dirs.clear();
  }

  ~run_state() { teardown(); }
};

run_state& state() {
  static run_state s;
  return s;
}

/// Boost.Test global fixture: stops the shared cluster and deletes temp dirs after the last test.
struct pg_cluster_teardown {
  ~pg_cluster_teardown() { state().teardown(); }
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(pg_cluster_teardown);

storage::embedded_postgres& pg_cluster() {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  if (!s.cluster) {
    storage::embedded_options opts;
    opts.data_dir = s.make_dir();
    opts.fast_unsafe = true;
    s.cluster = storage::embedded_postgres::start(opts);
  }
  return *s.cluster;
}

std::string fresh_database() {
  auto& cluster = pg_cluster();
  auto name = "test_" + std::to_string(getpid()) + "_" + std::to_string(++state().databases);
  // template0: nobody connects to it, so concurrent creations never find it busy.
  sql(cluster.conninfo_for("postgres"), "CREATE DATABASE " + name + " TEMPLATE template0");
  return cluster.conninfo_for(name);
}

std::vector<std::vector<std::string>> sql(const std::string& conninfo, const std::string& query) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error("sql: cannot connect with '" + conninfo +
                             "': " + (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), query.c_str()), &PQclear);
  auto status = PQresultStatus(res.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    throw std::runtime_error("sql: " + query + ": " + PQerrorMessage(conn.get()));
  std::vector<std::vector<std::string>> rows;
  for (int r = 0; r < PQntuples(res.get()); ++r) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < PQnfields(res.get()); ++c)
      row.emplace_back(PQgetvalue(res.get(), r, c), PQgetlength(res.get(), r, c));
  }
  return rows;
}

std::string temp_dir() {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  return s.make_dir();
}

}  // namespace nyxgate::testing
