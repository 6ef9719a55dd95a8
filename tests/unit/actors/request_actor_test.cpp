// The request actor stepped through the failover decision table on CAF's deterministic test
// coordinator: a fake provider actor records each attempt and answers with scripted upstream
// events, a fake tenant actor hands out a chain built from a fixed key set, and a recording
// call sink keeps what the client would see.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/call_sink.hpp"
#include "actors/provider_actor.hpp"
#include "actors/request_actor.hpp"
#include "actors/tenant_actor.hpp"
#include "storage/usage_recorder.hpp"

namespace actors = nyxgate::actors;
namespace providers = nyxgate::providers;
namespace storage = nyxgate::storage;
using namespace std::chrono_literals;

namespace {

// -- the fakes ----------------------------------------------------------------------------

/// What the client would see, one line per sink call.
class recording_sink final : public actors::call_sink {
 public:
  void committed(const actors::served_by& who) override {
    served = who;
    log.push_back("committed " + who.provider + " " + who.model);
  }
  bool content(std::span<const actors::content_delta> deltas) override {
    std::string line = "content";
    for (const auto& d : deltas) {
      line += " [";
      if (d.role_start) line += "role";
      line.append(d.content);
      for (const auto& t : d.tool_calls)
        line.append("call")
            .append(std::to_string(t.index))
            .append("(")
            .append(t.id)
            .append(",")
            .append(t.name)
            .append(",")
            .append(t.arguments)
            .append(")");
      if (!d.finish_reason.empty()) line.append("finish:").append(d.finish_reason);
      line += "]";
    }
    log.push_back(std::move(line));
    return !gone;
  }
  void done(const actors::call_result& result) override {
    usage = result.usage;
    log.push_back("done " + std::string{result.finish_reason} +
                  (result.completion ? " " + result.completion->content : std::string{}));
  }
  void failed(const actors::call_failure& f) override {
    failure = f;
    log.push_back("failed " + std::to_string(f.status));
  }
  std::size_t queued_bytes() const override { return 0; }
  void on_drained(std::function<void()>) override {}
  void on_stop(std::function<void(actors::call_stop)> fn) override { stop = std::move(fn); }

  std::vector<std::string> log;
  actors::served_by served;
  std::optional<actors::call_failure> failure;
  providers::token_usage usage;
  std::function<void(actors::call_stop)> stop;
  bool gone = false;
};

struct recording_usage final : storage::usage_recorder {
  void record(storage::usage_event e) override { rows.push_back(std::move(e)); }
  void flush_and_stop(std::chrono::milliseconds) override {}
  std::uint64_t written() const override { return rows.size(); }
  std::uint64_t dropped() const override { return 0; }
  std::vector<storage::usage_event> rows;
};

/// A provider's script: per attempt, in order, the events it answers with (none left: it
/// keeps the attempt open and the test answers).
struct provider_script {
  std::deque<std::vector<actors::upstream_event>> answers;
  std::vector<actors::attempt_ptr> attempts;  ///< every attempt received
};

actors::provider_actor::behavior_type fake_provider(actors::provider_actor::pointer,
                                                    std::shared_ptr<provider_script> script) {
  return {
      [script](actors::attempt_atom, actors::attempt_ptr& spec) {
        script->attempts.push_back(spec);
        if (script->answers.empty()) return;
        auto events = std::move(script->answers.front());
        script->answers.pop_front();
        for (auto& ev : events) {
          ev.attempt = spec->attempt;
          caf::anon_send(spec->reply_to, actors::upstream_atom_v,
                         std::make_shared<actors::upstream_event>(std::move(ev)));
        }
      },
  };
}

/// The tenant: its snapshot (null: its keys cannot be loaded) and the key marks it was sent.
struct tenant_log {
  actors::tenant_snapshot_ptr snapshot;
  std::vector<std::string> marks;  ///< "key id:status"
};

actors::tenant_actor::behavior_type fake_tenant(actors::tenant_actor::pointer,
                                                std::shared_ptr<tenant_log> log) {
  return {
      [](actors::resolve_atom, const actors::resolve_query&, actors::resolve_sink&) {},
      [](actors::resolve_atom, const actors::resolve_query&) { return actors::resolve_answer{}; },
      [log](actors::chain_atom,
            const actors::resolve_query& q) -> caf::result<actors::chain_answer_ptr> {
        if (!log->snapshot)
          return actors::make_error(actors::tenant_errc::keys_unavailable, "the database is down");
        return actors::chain_for(log->snapshot, q);
      },
      [](actors::models_atom, const std::string&, actors::models_sink&) {},
      [log](actors::key_health_atom, const std::string& key_id, providers::key_status status,
            const std::string&, std::int64_t) {
        log->marks.push_back(key_id + ":" + std::string{providers::to_string(status)});
      },
      [](actors::completed_atom, const std::string&, std::uint64_t) {},
      [](actors::reload_atom, actors::done_sink&) {},
      [](actors::loaded_atom, std::uint64_t, actors::tenant_snapshot_ptr&, const std::string&) {},
  };
}

struct fake_tenants final : actors::tenant_source {
  actors::tenant_entry entry;
  actors::tenant_entry lookup(const std::string&) override { return entry; }
};

// -- scripted events ------------------------------------------------------------------------

providers::failure upstream_failure(providers::failure_kind kind, unsigned status) {
  providers::failure f;
  f.kind = kind;
  f.status = status;
  f.reason = "HTTP " + std::to_string(status);
  return f;
}

actors::upstream_event failed(providers::failure_kind kind, unsigned status) {
  actors::upstream_event ev;
  ev.what = actors::upstream_event::kind::failed;
  ev.fail = upstream_failure(kind, status);
  return ev;
}

actors::upstream_event retryable(unsigned status = 503) {
  return failed(providers::failure_kind::retryable, status);
}

actors::upstream_event completed(std::string content) {
  actors::upstream_event ev;
  ev.what = actors::upstream_event::kind::completed;
  ev.completion.content = std::move(content);
  ev.completion.finish_reason = "stop";
  ev.completion.usage = {7, 3};
  return ev;
}

providers::stream_step text(std::string content, bool role_start = false) {
  providers::stream_step s;
  s.content = std::move(content);
  s.role_start = role_start;
  return s;
}

providers::stream_step finished(std::string reason) {
  providers::stream_step s;
  s.finish_reason = std::move(reason);
  s.usage = providers::token_usage{5, 2};
  s.done = true;
  return s;
}

actors::upstream_event steps(std::vector<providers::stream_step> list) {
  actors::upstream_event ev;
  ev.what = actors::upstream_event::kind::steps;
  ev.steps = std::move(list);
  return ev;
}

actors::upstream_event ended(std::string error) {
  actors::upstream_event ev;
  ev.what = actors::upstream_event::kind::ended;
  ev.error = std::move(error);
  return ev;
}

// -- the fixture ----------------------------------------------------------------------------

caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::nyxgate>();
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  return cfg;
}

providers::key_record key(std::string id, std::string provider, std::int64_t created_at) {
  providers::key_record k;
  k.id = std::move(id);
  k.provider = std::move(provider);
  k.name = k.id;
  k.hint = "…" + k.id;
  k.created_at = created_at;
  k.secret = "sk-" + k.id;
  return k;
}

struct call_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{testing_config(cfg)};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::shared_ptr<provider_script> openai = std::make_shared<provider_script>();
  std::shared_ptr<provider_script> anthropic = std::make_shared<provider_script>();
  std::shared_ptr<tenant_log> tenant = std::make_shared<tenant_log>();
  std::shared_ptr<actors::published_snapshot> published =
      std::make_shared<actors::published_snapshot>();
  fake_tenants tenants;
  actors::provider_directory directory;
  std::shared_ptr<recording_usage> usage = std::make_shared<recording_usage>();
  std::shared_ptr<actors::gateway_services> services = std::make_shared<actors::gateway_services>();
  std::shared_ptr<recording_sink> sink = std::make_shared<recording_sink>();

  call_fixture() {
    directory.add("openai", sys.spawn(fake_provider, openai));
    directory.add("anthropic", sys.spawn(fake_provider, anthropic));
    tenants.entry = {sys.spawn(fake_tenant, tenant), published};
    services->tenants = &tenants;
    services->providers = &directory;
    services->usage = usage;
    services->options.retry.retries = 1;
    services->options.retry.backoff_base_ms = 5;
    services->options.retry.backoff_cap_ms = 5;
  }

  ~call_fixture() {
    caf::anon_send_exit(tenants.entry.actor, caf::exit_reason::user_shutdown);
    directory.stop_all();
    sched.run();
  }

  /// The tenant's keys (`fallback`: its fallback provider), published as its snapshot.
  void keys(std::vector<providers::key_record> list,
            std::optional<std::string> fallback = std::nullopt) {
    auto snap = std::make_shared<actors::tenant_snapshot>();
    snap->keys = std::move(list);
    snap->defaults.fallback = std::move(fallback);
    snap->build_index();
    tenant->snapshot = snap;
    published->store(snap);
  }

  /// Starts a call and runs every actor until all wait.
  void start(bool stream, std::string model = "auto") {
    auto body = R"({"model":")" + model +
                R"(","messages":[{"role":"user","content":"hello there"}],"stream":)" +
                (stream ? "true" : "false") + "}";
    auto parsed = providers::parse_chat_request(body);
    actors::chat_call call;
    call.tenant_id = "tenant-1";
    call.user_id = "user-1";
    call.request_id = "req-1";
    call.request = std::make_shared<const providers::chat_request>(
        std::get<providers::chat_request>(std::move(parsed)));
    call.received_at = std::chrono::steady_clock::now();
    call.sink = sink;
    actors::spawn_request_actor(sys, services, std::move(call));
    sched.run();
  }

  /// Lets the backoff timers fire and runs on.
  void backoff() {
    sched.trigger_timeouts();
    sched.run();
  }

  /// Answers the last open attempt of `script` by hand.
  void answer(provider_script& script, actors::upstream_event ev) {
    auto spec = script.attempts.back();
    ev.attempt = spec->attempt;
    caf::anon_send(spec->reply_to, actors::upstream_atom_v,
                   std::make_shared<actors::upstream_event>(std::move(ev)));
    sched.run();
  }

  std::vector<std::string> secrets(const provider_script& script) const {
    std::vector<std::string> out;
    for (const auto& a : script.attempts) out.push_back(a->secret);
    return out;
  }

  const storage::usage_event& usage_row() const {
    BOOST_REQUIRE(usage->rows.size() == 1u);
    return usage->rows.front();
  }
};

using lines = std::vector<std::string>;

}  // namespace

BOOST_FIXTURE_TEST_SUITE(request_actor_test, call_fixture)

BOOST_AUTO_TEST_CASE(a_retryable_failure_retries_the_same_key_after_a_backoff) {
  keys({key("k1", "openai", 1)});
  openai->answers = {{retryable()}, {completed("hi")}};
  start(false);
  BOOST_TEST(openai->attempts.size() == 1u);  // the retry waits for its backoff timer
  BOOST_TEST(sink->log.empty());
  backoff();
  BOOST_TEST(secrets(*openai) == (lines{"sk-k1", "sk-k1"}));
  BOOST_TEST(sink->log == (lines{"committed openai gpt-4o-mini", "done stop hi"}));
  BOOST_TEST(sink->served.attempts == 2);
  BOOST_TEST(!sink->served.fallback);
  BOOST_TEST(tenant->marks.empty());
  BOOST_TEST((usage_row().status == storage::usage_status::ok));
  BOOST_TEST(usage_row().prompt_tokens == 7);
  BOOST_TEST(usage_row().key_id == "k1");
}

BOOST_AUTO_TEST_CASE(an_invalid_key_moves_to_the_next_key_and_is_marked) {
  keys({key("old", "openai", 1), key("new", "openai", 2)});
  openai->answers = {{failed(providers::failure_kind::key_invalid, 401)}, {completed("hi")}};
  start(false);
  BOOST_TEST(secrets(*openai) == (lines{"sk-new", "sk-old"}));  // newest first, no backoff
  BOOST_TEST(tenant->marks == (lines{"new:invalid"}));
  BOOST_TEST(sink->log == (lines{"committed openai gpt-4o-mini", "done stop hi"}));
  BOOST_TEST(usage_row().key_id == "old");
}

BOOST_AUTO_TEST_CASE(exhausted_retries_move_to_the_fallback_provider) {
  keys({key("o1", "openai", 1), key("a1", "anthropic", 1)}, "anthropic");
  openai->answers = {{retryable()}, {retryable(529)}};
  anthropic->answers = {{completed("from claude")}};
  start(false);
  backoff();
  BOOST_TEST(openai->attempts.size() == 2u);
  BOOST_TEST(secrets(*anthropic) == (lines{"sk-a1"}));
  BOOST_REQUIRE(sink->log.size() == 2u);
  BOOST_TEST(sink->log[0].starts_with("committed anthropic "));
  BOOST_TEST(sink->served.fallback);
  BOOST_TEST(sink->served.attempts == 3);
  BOOST_TEST(usage_row().provider == "anthropic");
  BOOST_TEST(usage_row().fallback);
}

BOOST_AUTO_TEST_CASE(an_exhausted_chain_fails_with_every_attempt_listed) {
  services->options.retry.retries = 0;
  keys({key("o1", "openai", 1), key("a1", "anthropic", 1)}, "anthropic");
  openai->answers = {{retryable(500)}};
  anthropic->answers = {{failed(providers::failure_kind::key_quota, 402)}};
  start(true);
  BOOST_TEST(sink->log == (lines{"failed 502"}));
  BOOST_REQUIRE(sink->failure);
  BOOST_TEST((sink->failure->error == actors::call_error::upstream_failed));
  BOOST_REQUIRE(sink->failure->attempts.size() == 2u);
  BOOST_TEST(sink->failure->attempts[0].provider == "openai");
  BOOST_TEST(sink->failure->attempts[0].status == 500u);
  BOOST_TEST(sink->failure->attempts[1].provider == "anthropic");
  BOOST_TEST(sink->failure->attempts[1].scope == "tenant");
  BOOST_TEST(tenant->marks == (lines{"a1:cooldown"}));
  BOOST_TEST((usage_row().status == storage::usage_status::error));
}

BOOST_AUTO_TEST_CASE(a_client_error_is_answered_at_once_without_failover) {
  keys({key("o1", "openai", 1), key("a1", "anthropic", 1)}, "anthropic");
  auto rejected = failed(providers::failure_kind::client_error, 422);
  rejected.fail.type = "invalid_request_error";
  rejected.fail.message = "max_tokens is too large";
  openai->answers = {{rejected}};
  start(false);
  BOOST_TEST(anthropic->attempts.empty());
  BOOST_REQUIRE(sink->failure);
  BOOST_TEST((sink->failure->error == actors::call_error::upstream_rejected));
  BOOST_TEST(sink->failure->status == 422u);
  BOOST_TEST(sink->failure->message == "max_tokens is too large");
}

BOOST_AUTO_TEST_CASE(a_stream_commits_with_its_first_content_one_sink_call_per_read) {
  keys({key("k1", "openai", 1)});
  openai->answers = {
      {steps({text("", true), text("Hel"), text("lo")}), steps({finished("length")})}};
  start(true);
  BOOST_TEST(sink->log == (lines{"committed openai gpt-4o-mini", "content [role] [Hel] [lo]",
                                 "content [finish:length]", "done length"}));
  BOOST_TEST(sink->usage.prompt_tokens == 5);
  BOOST_TEST((usage_row().status == storage::usage_status::ok));
  BOOST_TEST(usage_row().completion_tokens == 2);
}

BOOST_AUTO_TEST_CASE(a_tool_call_piece_commits_and_its_arguments_count_as_delivered) {
  keys({key("k1", "openai", 1)}, "anthropic");
  auto named = text("", true);
  named.tool_calls = {{0, "call_1", "f", ""}};
  auto fragment = text("");
  fragment.tool_calls = {{0, "", "", R"({"city":"Paris"})"}};  // 16 bytes
  openai->answers = {{steps({named}), steps({fragment}), ended("connection reset")}};
  start(true);
  BOOST_TEST(anthropic->attempts.empty());  // the first piece committed the call
  BOOST_TEST(sink->log ==
             (lines{"committed openai gpt-4o-mini", "content [role] [call0(call_1,f,)]",
                    R"(content [call0(,,{"city":"Paris"})])", "failed 502"}));
  BOOST_TEST((usage_row().status == storage::usage_status::truncated));
  BOOST_TEST(usage_row().completion_tokens == 4);
}

BOOST_AUTO_TEST_CASE(a_stream_failing_before_its_commit_still_fails_over) {
  keys({key("new", "openai", 2), key("old", "openai", 1)});
  auto broken = steps({text("", true)});
  broken.steps.push_back(text(""));
  broken.steps.back().error = upstream_failure(providers::failure_kind::key_invalid, 401);
  openai->answers = {{broken}, {steps({text("ok"), finished("stop")})}};
  start(true);
  BOOST_TEST(secrets(*openai) == (lines{"sk-new", "sk-old"}));
  BOOST_TEST(sink->log == (lines{"committed openai gpt-4o-mini",
                                 "content [role] [ok] [finish:stop]", "done stop"}));
}

BOOST_AUTO_TEST_CASE(a_stream_broken_after_its_commit_is_interrupted_and_truncated) {
  keys({key("k1", "openai", 1)}, "anthropic");
  openai->answers = {{steps({text("Hi there", true)}), ended("connection reset")}};
  start(true);
  BOOST_TEST(openai->attempts.size() == 1u);
  BOOST_TEST(anthropic->attempts.empty());  // committed: no failover any more
  BOOST_TEST(sink->log ==
             (lines{"committed openai gpt-4o-mini", "content [role] [Hi there]", "failed 502"}));
  BOOST_REQUIRE(sink->failure);
  BOOST_TEST((sink->failure->error == actors::call_error::stream_interrupted));
  BOOST_TEST(sink->failure->message == "the upstream stream broke: connection reset");
  BOOST_TEST((usage_row().status == storage::usage_status::truncated));
  BOOST_TEST(usage_row().completion_tokens == 2);  // "Hi there": 8 bytes, about 2 tokens
  BOOST_TEST(usage_row().prompt_tokens == 3);      // "hello there": 11 bytes
}

BOOST_AUTO_TEST_CASE(the_deadline_passing_during_an_attempt_is_a_504) {
  services->options.call_timeout = 50ms;
  keys({key("k1", "openai", 1)});
  start(false);
  BOOST_REQUIRE(openai->attempts.size() == 1u);
  BOOST_TEST((openai->attempts[0]->deadline <= std::chrono::steady_clock::now() + 50ms));
  std::this_thread::sleep_for(60ms);
  answer(*openai, retryable());
  BOOST_TEST(sink->log == (lines{"failed 504"}));
  BOOST_REQUIRE(sink->failure);
  BOOST_TEST((sink->failure->error == actors::call_error::upstream_timeout));
  BOOST_REQUIRE(sink->failure->attempts.size() == 1u);
  BOOST_TEST(sink->failure->attempts[0].reason == "timeout");
  BOOST_TEST(openai->attempts.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_client_gone_cancels_the_call_silently) {
  keys({key("k1", "openai", 1)});
  openai->answers = {{steps({text("Hi", true)})}};
  start(true);
  BOOST_REQUIRE(sink->stop);
  sink->stop(actors::call_stop::client_gone);
  sched.run();
  answer(*openai, steps({text(" more"), finished("stop")}));  // too late: nobody listens
  BOOST_TEST(sink->log == (lines{"committed openai gpt-4o-mini", "content [role] [Hi]"}));
  BOOST_TEST((usage_row().status == storage::usage_status::cancelled));
}

BOOST_AUTO_TEST_CASE(the_server_stopping_before_the_commit_answers_503) {
  keys({key("k1", "openai", 1)});
  start(false);
  sink->stop(actors::call_stop::server_stopping);
  sched.run();
  BOOST_REQUIRE(sink->failure);
  BOOST_TEST((sink->failure->error == actors::call_error::server_shutting_down));
  BOOST_TEST(sink->failure->status == 503u);
  BOOST_TEST((usage_row().status == storage::usage_status::cancelled));
}

BOOST_AUTO_TEST_CASE(unloadable_keys_and_no_key_are_answered_by_the_tenant_actor) {
  start(false);  // nothing published, and the tenant actor cannot load
  BOOST_REQUIRE(sink->failure);
  BOOST_TEST((sink->failure->error == actors::call_error::keys_unavailable));
  BOOST_TEST(sink->failure->status == 503u);

  keys({key("a1", "anthropic", 1)});
  sink = std::make_shared<recording_sink>();
  start(false, "gpt-4o");
  BOOST_REQUIRE(sink->failure);
  BOOST_TEST((sink->failure->error == actors::call_error::no_provider_key));
  BOOST_TEST(sink->failure->status == 400u);
  BOOST_TEST(openai->attempts.empty());
}

BOOST_AUTO_TEST_SUITE_END()
