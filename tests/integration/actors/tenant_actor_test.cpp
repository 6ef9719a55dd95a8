// Tenant actors under concurrent resolutions while keys are written: every answer is a
// complete, known key (no torn state), nothing crashes, and the sanitizers stay quiet.
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <caf/send.hpp>

#include "actors/tenant_actor.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/integration/pg_fixture.hpp"

using nyxgate::testing::node_fixture;
namespace actors = nyxgate::actors;

namespace {
actors::resolve_answer dropped() {
  actors::resolve_answer a;
  a.error = "dropped";
  return a;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(tenant_actor_test)

BOOST_AUTO_TEST_CASE(thousands_of_resolutions_while_keys_are_written) {
  node_fixture node;
  auto owner = node.seed_tenant("acme", "owner@acme.test");
  auto tenant_id = std::string{
      node.query("tenants.current", owner).body.at("result").at("data").at("id").as_string()};
  std::mutex ids_mutex;
  std::map<std::string, std::string> known;                // key id -> hint, every key created
  std::set<std::pair<std::string, std::string>> observed;  // (key id, hint) answered
  auto tenant = node.node().tenants().get(tenant_id);

  std::atomic<bool> writing{true};
  std::atomic<int> answers{0}, torn{0}, errors{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&] {
      std::atomic<int> in_flight{0};
      while (writing || in_flight.load() > 0) {
        if (!writing) {
          std::this_thread::yield();
          continue;
        }
        if (in_flight.load() > 32) {
          std::this_thread::yield();
          continue;
        }
        ++in_flight;
        auto sink = std::make_shared<actors::reply_sink<actors::resolve_answer>>(
            [&](actors::resolve_answer a) {
              if (!a.error.empty()) {
                ++errors;
              } else if (a.found) {
                if (a.provider != "openai" || a.scope != "tenant") ++torn;
                std::lock_guard lock(ids_mutex);
                observed.emplace(a.key_id, a.hint);
              }
              ++answers;
              --in_flight;
            },
            dropped());
        caf::anon_send(tenant, actors::resolve_atom_v, actors::resolve_query{}, std::move(sink));
      }
    });
  }
  for (int i = 0; i < 30; ++i) {
    auto secret = "sk-concurrent-key-" + std::to_string(1000 + i);
    auto created = node.mutate("apiKeys.create", owner,
                               R"({"provider":"openai","name":"k","key":")" + secret + R"("})");
    BOOST_REQUIRE(created.status == 200u);
    auto id = std::string{created.body.at("result").at("data").at("id").as_string()};
    {
      std::lock_guard lock(ids_mutex);
      known[id] = secret.substr(secret.size() - 4);
    }
    if (i % 3 == 2)
      BOOST_REQUIRE(node.mutate("apiKeys.delete", owner, R"({"id":")" + id + R"("})").status ==
                    200u);
  }
  writing = false;
  for (auto& r : readers) r.join();
  BOOST_TEST(answers.load() > 1000);
  BOOST_TEST(torn.load() == 0);
  // Every answer named a key that existed, with that key's own hint: no mixed-up state.
  for (const auto& [id, hint] : observed) {
    BOOST_TEST(known.count(id) == 1u, id);
    BOOST_TEST(known[id] == hint, id);
  }
  BOOST_TEST(errors.load() == 0);
  BOOST_TEST_MESSAGE(answers.load() << " resolutions during 30 key writes");
}

BOOST_AUTO_TEST_SUITE_END()
