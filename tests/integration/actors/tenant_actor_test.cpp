// Tenant actors under concurrent resolutions while keys are written: every answer is a
// complete, known key (no torn state), nothing crashes, and the sanitizers stay quiet.
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/tenant_actor.hpp"
#include "storage/database.hpp"
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

namespace {

/// The chain a call for `model` gets, as key ids in order.
std::vector<std::string> chain_ids(caf::actor_system& sys, const actors::tenant_actor& tenant,
                                   const std::string& model) {
  caf::scoped_actor self{sys};
  std::vector<std::string> ids;
  self->request(tenant, std::chrono::seconds(10), actors::chain_atom_v,
                actors::resolve_query{"", "", model})
      .receive(
          [&](const actors::chain_answer_ptr& a) {
            for (const auto& e : a->chain.elements) ids.push_back(e.key->id);
          },
          [&](const caf::error& e) { BOOST_FAIL("chain request failed: " << caf::to_string(e)); });
  return ids;
}

/// The chain a call gets from what the tenant actor published (calls read it without a
/// message): {"(none)"} if nothing was published.
std::vector<std::string> published_ids(actors::tenant_directory& tenants,
                                       const std::string& tenant_id, const std::string& model) {
  auto snap = tenants.lookup(tenant_id).published->load();
  if (!snap) return {"(none)"};
  std::vector<std::string> ids;
  auto a = actors::chain_for(snap, actors::resolve_query{"", "", model});
  for (const auto& e : a->chain.elements) ids.push_back(e.key->id);
  return ids;
}

std::string key_status(nyxgate::storage::database& db, const std::string& id) {
  nyxgate::storage::statement st{
      "SELECT status || '|' || coalesce(status_reason, '') || '|' || "
      "coalesce((cooldown_until > now())::text, '') FROM api_keys WHERE id = $1"};
  st.bind(id);
  auto r = db.execute_blocking(nyxgate::storage::single(std::move(st)), std::chrono::seconds(10));
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(!r.results.front().empty());
  return r.results.front().is_null(0, 0) ? "" : r.results.front().at(0, 0);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_failing_key_leaves_the_chain_at_once_and_its_status_is_persisted) {
  node_fixture node;
  auto owner = node.seed_tenant("health", "owner@health.test");
  auto key = [&](const std::string& secret) {
    auto created = node.mutate("apiKeys.create", owner,
                               R"({"provider":"openai","name":"k","key":")" + secret + R"("})");
    BOOST_REQUIRE(created.status == 200u);
    return std::string{created.body.at("result").at("data").at("id").as_string()};
  };
  auto older = key("sk-health-older-0001");
  auto newer = key("sk-health-newer-0002");
  auto tenant_id = std::string{
      node.query("tenants.current", owner).body.at("result").at("data").at("id").as_string()};
  auto& sys = node.node().actor_system();
  auto& tenants = node.node().tenants();
  auto tenant = tenants.get(tenant_id);
  BOOST_TEST(chain_ids(sys, tenant, "gpt-4o") == (std::vector<std::string>{newer, older}));
  // The load was published for calls to read without a message, and so is every change.
  BOOST_TEST(published_ids(tenants, tenant_id, "gpt-4o") ==
             (std::vector<std::string>{newer, older}));

  caf::anon_send(tenant, actors::key_health_atom_v, newer, nyxgate::providers::key_status::invalid,
                 std::string{"http 401"}, std::int64_t{300});
  // Mailbox order: the next question sees the new health without any reload.
  BOOST_TEST(chain_ids(sys, tenant, "gpt-4o") == (std::vector<std::string>{older}));
  BOOST_TEST(published_ids(tenants, tenant_id, "gpt-4o") == (std::vector<std::string>{older}));
  caf::anon_send(tenant, actors::key_health_atom_v, older, nyxgate::providers::key_status::cooldown,
                 std::string{"http 429 insufficient_quota"}, std::int64_t{300});
  BOOST_TEST(chain_ids(sys, tenant, "gpt-4o").empty());
  BOOST_TEST(published_ids(tenants, tenant_id, "gpt-4o") == std::vector<std::string>{});

  // Persisted (asynchronously, off the call's path): poll briefly.
  std::string newer_row, older_row;
  for (int i = 0; i < 100; ++i) {
    newer_row = key_status(node.node().db(), newer);
    older_row = key_status(node.node().db(), older);
    if (newer_row.starts_with("invalid") && older_row.starts_with("cooldown")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  BOOST_TEST(newer_row == "invalid|http 401|");
  BOOST_TEST(older_row == "cooldown|http 429 insufficient_quota|true");

  // A reload (as another node's NOTIFY causes) reads the same health back from the database.
  auto done = std::make_shared<std::promise<std::string>>();
  auto fut = done->get_future();
  caf::anon_send(tenant, actors::reload_atom_v,
                 std::make_shared<actors::reply_sink<std::string>>(
                     [done](std::string e) { done->set_value(std::move(e)); }, "dropped"));
  BOOST_TEST(fut.get().empty());
  BOOST_TEST(chain_ids(sys, tenant, "gpt-4o").empty());

  // Replacing the key's secret makes it active again (SPEC §3: invalid until replaced or tested).
  BOOST_REQUIRE(node.mutate("apiKeys.replace", owner,
                            R"({"id":")" + newer + R"(","key":"sk-health-fresh-0003"})")
                    .status == 200u);
  BOOST_TEST(chain_ids(sys, tenant, "gpt-4o") == (std::vector<std::string>{newer}));
  BOOST_TEST(published_ids(tenants, tenant_id, "gpt-4o") == (std::vector<std::string>{newer}));
}

BOOST_AUTO_TEST_SUITE_END()
