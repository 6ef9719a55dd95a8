// `nyxgate init` and `nyxgate migrate` as an operator runs them: the real binary, a real database.
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <fstream>

#include "storage/migrations.hpp"
#include "tests/integration/pg_fixture.hpp"

namespace {

struct run_result {
  int status = -1;
  std::string out;  ///< stdout and stderr
};

run_result run(const std::string& args) {
  std::string cmd = std::string{NYXGATE_BINARY} + " " + args + " 2>&1";
  run_result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  BOOST_REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  while (auto n = std::fread(buf.data(), 1, buf.size(), p)) r.out.append(buf.data(), n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string db_flag(const std::string& conninfo) {
  return "'--database.url=" + conninfo + "'";
}

std::string token_in(const std::string& out) {
  auto at = out.find("token: ngt_");
  if (at == std::string::npos) return {};
  return out.substr(at + 7, out.find('\n', at) - at - 7);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(init_test)

BOOST_AUTO_TEST_CASE(init_fresh_then_identical_rerun_then_conflict) {
  auto db = nyxgate::testing::fresh_database();
  auto base =
      "init --tenant-slug acme --tenant-name Acme --admin-email root@acme.test " + db_flag(db);
  auto first = run(base);
  BOOST_TEST(first.status == 0, first.out);
  auto token = token_in(first.out);
  BOOST_TEST(token.size() == 47u, first.out);

  auto rows = nyxgate::testing::sql(db, "SELECT token_hash FROM access_tokens");
  BOOST_REQUIRE(rows.size() == 1u);
  BOOST_TEST(rows[0][0].size() == 64u);
  BOOST_TEST(rows[0][0].find(token) == std::string::npos);      // stored as a hash only
  BOOST_TEST(first.out.find(token) == first.out.rfind(token));  // printed once, never logged

  auto second = run(base);
  BOOST_TEST(second.status == 0, second.out);
  BOOST_TEST(second.out.find("already initialized") != std::string::npos, second.out);
  BOOST_TEST(token_in(second.out).empty());
  BOOST_TEST(nyxgate::testing::sql(db, "SELECT count(*) FROM access_tokens")[0][0] == "1");

  auto other_name = run(
      "init --tenant-slug acme --tenant-name Other --admin-email root@acme.test " + db_flag(db));
  BOOST_TEST(other_name.status == 1, other_name.out);
  BOOST_TEST(other_name.out.find("already exists") != std::string::npos, other_name.out);
  auto other_admin =
      run("init --tenant-slug acme --tenant-name Acme --admin-email x@acme.test " + db_flag(db));
  BOOST_TEST(other_admin.status == 1, other_admin.out);
  BOOST_TEST(nyxgate::testing::sql(db, "SELECT count(*) FROM tenants")[0][0] == "1");
  BOOST_TEST(nyxgate::testing::sql(db, "SELECT count(*) FROM users")[0][0] == "1");
}

BOOST_AUTO_TEST_CASE(init_writes_the_token_file_with_mode_0600) {
  auto db = nyxgate::testing::fresh_database();
  auto file = nyxgate::testing::temp_dir() + "/admin.token";
  auto r = run("init --tenant-slug t1 --tenant-name T --admin-email a@t.test --token-file " + file +
               " " + db_flag(db));
  BOOST_TEST(r.status == 0, r.out);
  BOOST_TEST(r.out.find("ngt_") == std::string::npos, r.out);
  struct stat st {};
  BOOST_REQUIRE(::stat(file.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  std::ifstream in(file);
  std::string token;
  std::getline(in, token);
  BOOST_TEST(token.rfind("ngt_", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(init_rejects_bad_arguments_naming_them) {
  auto r = run("init --tenant-slug 'Bad Slug' --tenant-name T --admin-email a@t.test");
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.out.find("--tenant-slug") != std::string::npos, r.out);
  auto missing = run("init --tenant-slug ok");
  BOOST_TEST(missing.status == 2);
  auto email = run("init --tenant-slug ok --tenant-name T --admin-email nope");
  BOOST_TEST(email.status == 2);
  BOOST_TEST(email.out.find("--admin-email") != std::string::npos, email.out);
}

BOOST_AUTO_TEST_CASE(config_errors_name_key_and_source) {
  auto flag = run("migrate --database.pool_size=zero");
  BOOST_TEST(flag.status == 2);
  BOOST_TEST(flag.out.find("database.pool_size") != std::string::npos, flag.out);
  auto unknown = run("serve --server.nope=1");
  BOOST_TEST(unknown.status == 2);
  BOOST_TEST(unknown.out.find("server.nope") != std::string::npos, unknown.out);
  ::setenv("NYXGATE_SERVER_THREADS", "abc", 1);
  auto env = run("migrate");
  ::unsetenv("NYXGATE_SERVER_THREADS");
  BOOST_TEST(env.status == 2);
  BOOST_TEST(env.out.find("NYXGATE_SERVER_THREADS") != std::string::npos, env.out);
}

BOOST_AUTO_TEST_CASE(every_subcommand_has_help) {
  for (auto cmd : {"serve", "init", "migrate"}) {
    auto r = run(std::string{cmd} + " --help");
    BOOST_TEST(r.status == 0, cmd);
    BOOST_TEST(r.out.find("usage: nyxgate") != std::string::npos, cmd);
  }
  auto serve = run("serve --help");
  for (auto key :
       {"server.listen", "server.data_dir", "database.url", "database.pool_size",
        "security.master_key_file", "tls.ca_file", "providers.openai.base_url", "gateway.retries",
        "gateway.timeout_ms", "gateway.key_cooldown_s", "limits.max_body_bytes"})
    BOOST_TEST(serve.out.find(key) != std::string::npos, key);
}

BOOST_AUTO_TEST_CASE(migrate_reports_the_schema_version) {
  auto db = nyxgate::testing::fresh_database();
  auto r = run("migrate " + db_flag(db));
  BOOST_TEST(r.status == 0, r.out);
  BOOST_TEST(
      r.out.find("schema at version " +
                 std::to_string(nyxgate::storage::latest_schema_version())) != std::string::npos,
      r.out);
}

BOOST_AUTO_TEST_SUITE_END()
