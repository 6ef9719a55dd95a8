// `nyxgate rotate-master-key` against a serving node: every key re-sealed under the new
// version, old versions retired from the file, and the node keeps resolving throughout.
#include <sys/wait.h>

#include <array>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/node_fixture.hpp"
#include "tests/integration/pg_fixture.hpp"

using nyxgate::testing::node_fixture;

BOOST_AUTO_TEST_SUITE(rotate_test)

BOOST_AUTO_TEST_CASE(rotation_reseals_every_key_while_the_node_serves) {
  node_fixture node;
  auto owner = node.seed_tenant("acme", "owner@acme.test");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = node.mutate("apiKeys.create", owner,
                         R"({"provider":"openai","name":"k","key":"sk-rotate-secret-000)" +
                             std::to_string(i) + R"("})");
    BOOST_REQUIRE_MESSAGE(r.status == 200u, r.raw);
  }
  auto before = node.query("providers.resolve", owner);
  BOOST_REQUIRE(before.status == 200u);
  auto key_id = std::string{before.body.at("result").at("data").at("keyId").as_string()};

  std::atomic<bool> rotating{true};
  std::atomic<int> resolved{0}, failed{0};
  std::thread load([&] {
    while (rotating) {
      auto r = node.query("providers.resolve", owner);
      if (r.status == 200u && r.body.at("result").at("data").is_object())
        ++resolved;
      else
        ++failed;
    }
  });
  std::string cmd = std::string{NYXGATE_BINARY} +
                    " rotate-master-key '--database.url=" + node.conninfo() +
                    "' --security.master_key_file=" + node.master_key_file() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  BOOST_REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  std::string out;
  while (auto n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int status = ::pclose(p);
  rotating = false;
  load.join();
  BOOST_TEST(WEXITSTATUS(status) == 0, out);
  BOOST_TEST(out.find("5 keys re-sealed") != std::string::npos, out);
  BOOST_TEST(failed.load() == 0);
  BOOST_TEST(resolved.load() > 0);

  auto versions =
      nyxgate::testing::sql(node.conninfo(), "SELECT DISTINCT key_version FROM api_keys");
  BOOST_REQUIRE(versions.size() == 1u);
  BOOST_TEST(versions[0][0] == "2");
  std::ifstream in(node.master_key_file());
  std::stringstream file;
  file << in.rdbuf();
  BOOST_TEST(file.str().find("\n1 ") == std::string::npos);  // version 1 retired
  BOOST_TEST(file.str().find("\n2 ") != std::string::npos);

  // The node reloaded the file: old keys still resolve, new keys are sealed under version 2.
  auto after = node.query("providers.resolve", owner);
  BOOST_TEST(std::string{after.body.at("result").at("data").at("keyId").as_string()} == key_id);
  auto created = node.mutate("apiKeys.create", owner,
                             R"({"provider":"anthropic","name":"n","key":"sk-after-rotation"})");
  BOOST_TEST(created.status == 200u);
  auto newest = nyxgate::testing::sql(
      node.conninfo(), "SELECT key_version FROM api_keys WHERE provider = 'anthropic'");
  BOOST_TEST(newest.at(0).at(0) == "2");
  auto pinned = node.query("providers.resolve", owner, R"({"provider":"anthropic"})");
  BOOST_TEST(pinned.body.at("result").at("data").is_object());
}

BOOST_AUTO_TEST_SUITE_END()
