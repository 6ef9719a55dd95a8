// While the database cannot be reached, a token that is not cached cannot be checked: both
// planes answer 503 (retry later), never 500 or 401, and serve again once the database is back.
#include <boost/test/unit_test.hpp>

#include "tests/integration/eventually.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/integration/pg_fixture.hpp"

using nyxgate::testing::eventually;
using nyxgate::testing::node_fixture;
using nyxgate::testing::sql;

namespace {

/// The `dbname=` of a conninfo.
std::string database_of(const std::string& conninfo) {
  auto at = conninfo.find("dbname=");
  BOOST_REQUIRE(at != std::string::npos);
  auto name = conninfo.substr(at + 7);
  return name.substr(0, name.find(' '));
}

/// Refuses new connections to the node's database and ends the open ones, as a database
/// that went away would; `restore()` lets connections in again.
struct database_outage {
  std::string admin;
  std::string name;

  explicit database_outage(const std::string& conninfo)
      : admin(conninfo.substr(0, conninfo.find("dbname=")) + "dbname=postgres"),
        name(database_of(conninfo)) {
    sql(admin, "ALTER DATABASE " + name + " ALLOW_CONNECTIONS false");
    sql(admin,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name + "'");
  }
  void restore() { sql(admin, "ALTER DATABASE " + name + " ALLOW_CONNECTIONS true"); }
};

std::string trpc_code(const nyxgate::testing::http_reply& r) {
  const auto* e = r.body.is_object() ? r.body.as_object().if_contains("error") : nullptr;
  return e ? std::string{e->at("data").at("code").as_string()} : "";
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(auth_unavailable_test, node_fixture)

BOOST_AUTO_TEST_CASE(control_plane_answers_503_while_tokens_cannot_be_checked) {
  auto token = seed_tenant("acme", "owner@acme.test");  // never used yet: not cached
  database_outage outage{conninfo()};

  auto r = query("tenants.current", token);
  BOOST_TEST(r.status == 503u, r.raw);
  BOOST_TEST(trpc_code(r) == "SERVICE_UNAVAILABLE", r.raw);
  BOOST_TEST(r.body.at("error").at("data").at("httpStatus").as_int64() == 503);

  auto chat = request("POST", "/v1/chat/completions", token,
                      R"({"model":"auto","messages":[{"role":"user","content":"hi"}]})");
  BOOST_TEST(chat.status == 503u, chat.raw);

  outage.restore();
  BOOST_TEST(eventually([&] { return query("tenants.current", token).status == 200u; },
                        std::chrono::seconds(15)));
}

BOOST_AUTO_TEST_SUITE_END()
