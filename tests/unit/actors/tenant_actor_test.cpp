// The tenant actor's snapshot and key marks, stepped one message at a time by CAF's test
// coordinator: loads and status writes are scripted (tenant_io), so every interleaving a test
// names is the one that runs, without a database or a thread.
#include <boost/test/unit_test.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>

#include "actors/tenant_actor.hpp"

namespace actors = nyxgate::actors;
namespace providers = nyxgate::providers;

namespace {

constexpr std::int64_t start = 1'800'000'000;

providers::key_record tenant_key(std::string id, std::int64_t created,
                                 std::string status = "active") {
  providers::key_record k;
  k.id = std::move(id);
  k.provider = "openai";
  k.created_at = created;
  k.status = *providers::parse_key_status(status);
  k.hint = "abcd";
  k.secret = "sk-test-" + k.id;
  return k;
}

/// Two openai tenant keys, "new" ahead of "old"; `new_status` is what the load read for "new".
actors::tenant_snapshot_ptr loaded(std::string new_status = "active") {
  auto snap = std::make_shared<actors::tenant_snapshot>();
  snap->keys = {tenant_key("old", 1), tenant_key("new", 2, std::move(new_status))};
  snap->build_index();
  return snap;
}

struct write_request {
  std::string key_id;
  std::string status;
  std::int64_t cooldown_s = 0;
  std::function<void()> done;
};

struct config : caf::actor_system_config {
  config() {
    add_message_types<caf::id_block::nyxgate>();
    set("scheduler.policy", caf::atom("testing"));
    set("logger.file-verbosity", caf::atom("quiet"));
    set("logger.console-verbosity", caf::atom("quiet"));
  }
};

/// A tenant actor whose loads and writes wait for the test to finish them.
struct tenant_fixture {
  config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::vector<std::function<void(actors::tenant_snapshot_ptr, std::string)>> loads;
  std::vector<write_request> writes;
  std::int64_t clock = start;
  std::shared_ptr<actors::published_snapshot> published =
      std::make_shared<actors::published_snapshot>();
  actors::tenant_actor tenant;

  tenant_fixture() {
    actors::tenant_io io;
    io.load = [this](auto done) { loads.push_back(std::move(done)); };
    io.write_key_health = [this](const std::string& key_id, providers::key_status status,
                                 const std::string&, std::int64_t cooldown_s,
                                 std::function<void()> done) {
      writes.push_back(
          {key_id, std::string{providers::to_string(status)}, cooldown_s, std::move(done)});
    };
    io.now_s = [this] { return clock; };
    tenant = actors::spawn_tenant_actor(sys, "tenant-1", std::move(io), published);
    sched.run();
  }

  ~tenant_fixture() {
    caf::anon_send_exit(tenant, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// Finishes the oldest pending load with `snap` and lets the actor take it.
  void finish_load(actors::tenant_snapshot_ptr snap, std::string error = {}) {
    BOOST_REQUIRE(!loads.empty());
    auto done = std::move(loads.front());
    loads.erase(loads.begin());
    done(std::move(snap), std::move(error));
    sched.run();
  }

  void finish_write(std::size_t i) {
    BOOST_REQUIRE(i < writes.size());
    BOOST_REQUIRE(writes[i].done);
    std::exchange(writes[i].done, nullptr)();
    sched.run();
  }

  /// What a resolution answers, with the actor stepped until it did.
  actors::resolve_answer resolve() {
    std::optional<actors::resolve_answer> out;
    auto sink = std::make_shared<actors::reply_sink<actors::resolve_answer>>(
        [&out](actors::resolve_answer a) { out = std::move(a); }, actors::resolve_answer{});
    caf::anon_send(tenant, actors::resolve_atom_v, actors::resolve_query{}, std::move(sink));
    sched.run();
    BOOST_REQUIRE(out.has_value());
    return *out;
  }

  void report(const std::string& key_id, const std::string& status, std::int64_t cooldown_s = 0) {
    caf::anon_send(tenant, actors::key_health_atom_v, key_id, *providers::parse_key_status(status),
                   std::string{"test"}, cooldown_s);
    sched.run();
  }

  void reload() {
    auto sink = std::make_shared<actors::reply_sink<std::string>>([](std::string) {},
                                                                  std::string{"dropped"});
    caf::anon_send(tenant, actors::reload_atom_v, std::move(sink));
    sched.run();
  }

  /// The auto chain a call reads from the published snapshot, as key ids, at `at`.
  std::vector<std::string> chain(std::int64_t at) {
    std::vector<std::string> ids;
    auto snap = published->load();
    if (!snap) return {"(none)"};
    auto answer = actors::chain_for(snap, actors::resolve_query{}, at);
    for (const auto& e : answer->chain.elements) ids.push_back(e.key->id);
    return ids;
  }
  std::vector<std::string> chain() { return chain(clock); }
};

using ids = std::vector<std::string>;

}  // namespace

BOOST_AUTO_TEST_SUITE(tenant_actor_test)

BOOST_FIXTURE_TEST_CASE(a_question_before_the_first_load_is_answered_by_it, tenant_fixture) {
  std::optional<actors::resolve_answer> answer;
  auto sink = std::make_shared<actors::reply_sink<actors::resolve_answer>>(
      [&answer](actors::resolve_answer a) { answer = std::move(a); }, actors::resolve_answer{});
  caf::anon_send(tenant, actors::resolve_atom_v, actors::resolve_query{}, std::move(sink));
  sched.run();
  BOOST_TEST(!answer.has_value());
  BOOST_REQUIRE(loads.size() == 1u);
  BOOST_TEST(chain() == ids{"(none)"});
  finish_load(loaded());
  BOOST_REQUIRE(answer.has_value());
  BOOST_TEST(answer->found);
  BOOST_TEST(answer->key_id == "new");
  BOOST_TEST(chain() == (ids{"new", "old"}));
}

BOOST_FIXTURE_TEST_CASE(a_failed_first_load_answers_with_its_error, tenant_fixture) {
  std::optional<actors::resolve_answer> answer;
  auto sink = std::make_shared<actors::reply_sink<actors::resolve_answer>>(
      [&answer](actors::resolve_answer a) { answer = std::move(a); }, actors::resolve_answer{});
  caf::anon_send(tenant, actors::resolve_atom_v, actors::resolve_query{}, std::move(sink));
  sched.run();
  finish_load(nullptr, "keys unavailable: connection lost");
  BOOST_REQUIRE(answer.has_value());
  BOOST_TEST(!answer->found);
  BOOST_TEST(answer->error == "keys unavailable: connection lost");
  // The next question loads again.
  BOOST_TEST(loads.empty());
  caf::anon_send(tenant, actors::resolve_atom_v, actors::resolve_query{},
                 std::make_shared<actors::reply_sink<actors::resolve_answer>>(
                     [](actors::resolve_answer) {}, actors::resolve_answer{}));
  sched.run();
  BOOST_TEST(loads.size() == 1u);
  finish_load(loaded());
  BOOST_TEST(chain() == (ids{"new", "old"}));
}

BOOST_FIXTURE_TEST_CASE(a_key_marked_invalid_leaves_the_published_chain_at_once, tenant_fixture) {
  reload();
  finish_load(loaded());
  auto before = published->load();
  report("new", "invalid");
  BOOST_TEST(chain() == ids{"old"});
  BOOST_TEST(resolve().key_id == "old");
  // A snapshot already handed to a call is left as it was.
  BOOST_TEST(actors::chain_for(before, {}, clock)->chain.elements.size() == 2u);
  BOOST_REQUIRE(writes.size() == 1u);
  BOOST_TEST(writes[0].key_id == "new");
  BOOST_TEST(writes[0].status == "invalid");
}

BOOST_FIXTURE_TEST_CASE(concurrent_reports_of_one_failure_write_once, tenant_fixture) {
  reload();
  finish_load(loaded());
  report("new", "invalid");
  report("new", "invalid");
  report("new", "cooldown", 60);  // a different status is a new write
  BOOST_TEST(writes.size() == 2u);
  report("unknown-key", "invalid");
  BOOST_TEST(writes.size() == 2u);
}

/// The race a mark exists for: a reload that read the keys before the status write committed
/// must not bring the failed key back, however the load and the write interleave.
BOOST_FIXTURE_TEST_CASE(a_mark_survives_a_reload_that_read_the_keys_before_its_write,
                        tenant_fixture) {
  reload();
  finish_load(loaded());
  report("new", "invalid");
  // Load started before the write ended, finishes before it: stale rows.
  reload();
  finish_load(loaded());
  BOOST_TEST(chain() == ids{"old"});
  // Load started before the write ended, finishes after it: still stale rows.
  reload();
  finish_write(0);
  finish_load(loaded());
  BOOST_TEST(chain() == ids{"old"});
  // A load that starts after the write ended reads the truth: the mark is forgotten, and what
  // the database says wins (here the key was tested and is active again).
  reload();
  finish_load(loaded("active"));
  BOOST_TEST(chain() == (ids{"new", "old"}));
}

BOOST_FIXTURE_TEST_CASE(a_mark_is_kept_until_its_write_completes, tenant_fixture) {
  reload();
  finish_load(loaded());
  report("new", "invalid");
  for (int i = 0; i < 3; ++i) {
    reload();
    finish_load(loaded());
    BOOST_TEST(chain() == ids{"old"}, "reload " << i);
  }
  finish_write(0);
  reload();
  finish_load(loaded("invalid"));
  BOOST_TEST(chain() == ids{"old"});
  reload();
  finish_load(loaded("active"));
  BOOST_TEST(chain() == (ids{"new", "old"}));
}

BOOST_FIXTURE_TEST_CASE(a_cooldown_ends_at_its_time, tenant_fixture) {
  reload();
  finish_load(loaded());
  report("new", "cooldown", 60);
  BOOST_REQUIRE(writes.size() == 1u);
  BOOST_TEST(writes[0].cooldown_s == 60);
  BOOST_TEST(chain(start) == ids{"old"});
  BOOST_TEST(chain(start + 59) == ids{"old"});
  BOOST_TEST(chain(start + 60) == (ids{"new", "old"}));
  // While it cools down, the same report is no news; once it ended, it is.
  clock = start + 30;
  report("new", "cooldown", 60);
  BOOST_TEST(writes.size() == 1u);
  clock = start + 60;
  BOOST_TEST(resolve().key_id == "new");
  report("new", "cooldown", 60);
  BOOST_TEST(writes.size() == 2u);
  BOOST_TEST(chain() == ids{"old"});
  BOOST_TEST(chain(start + 120) == (ids{"new", "old"}));
}

BOOST_AUTO_TEST_SUITE_END()
