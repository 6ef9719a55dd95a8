// A node whose master key file is missing while the database holds sealed provider keys refuses
// to start, and no new master key is written over the old ciphertexts.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <stdexcept>

#include "tests/integration/node_fixture.hpp"
#include "tests/integration/pg_fixture.hpp"

using nyxgate::testing::node_fixture;
namespace fs = std::filesystem;

namespace {

bool refuses_for_missing_key(const std::runtime_error& e) {
  std::string what = e.what();
  BOOST_TEST_MESSAGE(what);
  return what.find("is missing, but the database holds 1 provider key") != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(master_key_test)

BOOST_AUTO_TEST_CASE(missing_master_key_file_with_stored_keys_refuses_to_start) {
  std::string conninfo;
  {
    node_fixture first;
    conninfo = first.conninfo();
    auto owner = first.seed_tenant("vault", "owner@vault.test");
    auto r = first.mutate("apiKeys.create", owner,
                          R"({"provider":"openai","name":"k","key":"sk-missing-master-key"})");
    BOOST_REQUIRE_MESSAGE(r.status == 200u, r.raw);
  }
  // The default <data_dir>/master.key of a fresh data folder does not exist.
  auto fresh_dir = nyxgate::testing::temp_dir();
  nyxgate::config::settings s;
  s.server.data_dir = fresh_dir;
  s.database.url = conninfo;
  s.database.pool_size = 1;
  s.server.listen = "127.0.0.1:0";
  BOOST_CHECK_EXCEPTION(nyxgate::app::node{s}, std::runtime_error, refuses_for_missing_key);
  BOOST_TEST(!fs::exists(fresh_dir + "/master.key"), "no new master key was generated");

  // A configured path that does not exist is refused the same way.
  s.security.master_key_file = fresh_dir + "/elsewhere.key";
  BOOST_CHECK_EXCEPTION(nyxgate::app::node{s}, std::runtime_error, refuses_for_missing_key);
}

BOOST_AUTO_TEST_CASE(missing_master_key_file_without_stored_keys_is_generated) {
  node_fixture node;
  BOOST_TEST(fs::exists(node.master_key_file()));
}

BOOST_AUTO_TEST_SUITE_END()
