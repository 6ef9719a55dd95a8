// The provider actor against an upstream pool the test drives by hand: the circuit opens after
// N retryable failures across calls, an open circuit refuses at once without opening an
// exchange (reason circuit_open), and after the cool-down one probe closes or re-opens it.
#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/provider_actor.hpp"

using namespace nyxgate;
using namespace std::chrono_literals;
using actors::upstream_event;

namespace {

/// An upstream pool that opens nothing: it records each exchange for the test to answer.
struct fake_pool final : actors::upstream_pool {
  struct opened {
    actors::upstream_call call;
    std::shared_ptr<actors::upstream_reader> reader;
  };
  struct handle final : actors::upstream_exchange {
    void cancel() override {}
    void pause() override {}
    void resume() override {}
  };

  actors::upstream_exchange_ptr open(actors::upstream_call call,
                                     std::shared_ptr<actors::upstream_reader> reader) override {
    {
      std::lock_guard lock(mutex);
      exchanges.push_back({std::move(call), std::move(reader)});
    }
    changed.notify_all();
    return std::make_shared<handle>();
  }

  std::size_t count() {
    std::lock_guard lock(mutex);
    return exchanges.size();
  }

  std::shared_ptr<actors::upstream_reader> wait_for(std::size_t n) {
    std::unique_lock lock(mutex);
    BOOST_REQUIRE(changed.wait_for(lock, 5s, [&] { return exchanges.size() >= n; }));
    return exchanges[n - 1].reader;
  }

  std::mutex mutex;
  std::condition_variable changed;
  std::vector<opened> exchanges;
};

/// What the attempts reported, in order.
struct event_log {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<upstream_event> events;

  upstream_event next() {
    std::unique_lock lock(mutex);
    BOOST_REQUIRE(changed.wait_for(lock, 5s, [&] { return !events.empty(); }));
    auto ev = std::move(events.front());
    events.pop_front();
    return ev;
  }
};

actors::request_actor::behavior_type recorder(actors::request_actor::pointer, event_log* log) {
  return {
      [log](actors::upstream_atom, actors::upstream_event_ptr& ev) {
        {
          std::lock_guard lock(log->mutex);
          log->events.push_back(*ev);
        }
        log->changed.notify_all();
      },
      [](actors::retry_atom, std::uint32_t) {},
      [](actors::gone_atom, actors::call_stop) {},
      [](actors::drained_atom) {},
  };
}

const std::string completion_body =
    R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"hi"},)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,)"
    R"("total_tokens":2}})";

struct provider_env {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<fake_pool> pool = std::make_shared<fake_pool>();
  std::shared_ptr<actors::circuit_breaker> circuit;
  event_log log;
  actors::provider_actor provider;
  actors::request_actor request;
  std::uint32_t attempts = 0;

  provider_env(int threshold, std::chrono::milliseconds cooldown)
      : circuit(std::make_shared<actors::circuit_breaker>(threshold, cooldown)) {
    cfg.add_message_types<caf::id_block::nyxgate>();
    sys = std::make_unique<caf::actor_system>(cfg);
    provider = actors::spawn_provider_actor(
        *sys, actors::provider_endpoint{"openai", "https://upstream.test", pool, circuit});
    request = sys->spawn(recorder, &log);
  }

  ~provider_env() {
    caf::anon_send_exit(provider, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(request, caf::exit_reason::user_shutdown);
    sys->await_all_actors_done();
  }

  /// Sends the next attempt (a chat call unless `req` says otherwise); returns its number.
  std::uint32_t attempt(std::shared_ptr<const providers::chat_request> req = nullptr,
                        std::string model = "gpt-4o-mini") {
    auto spec = std::make_shared<actors::attempt_spec>();
    spec->attempt = ++attempts;
    spec->model = std::move(model);
    spec->secret = "sk-test";
    if (!req) {
      auto chat = std::make_shared<providers::chat_request>();
      chat->messages.push_back({"user", "hi", ""});
      req = std::move(chat);
    }
    spec->request = std::move(req);
    spec->max_tokens = 16;
    spec->head_timeout = 5000ms;
    spec->deadline = std::chrono::steady_clock::now() + 5s;
    spec->reply_to = request;
    spec->link = std::make_shared<actors::attempt_link>();
    caf::anon_send(provider, actors::attempt_atom_v, actors::attempt_ptr{std::move(spec)});
    return attempts;
  }

  /// Answers exchange `n` with `status` and `body`, as the transport would.
  void answer(std::size_t n, unsigned status, const std::string& body) {
    auto reader = pool->wait_for(n);
    reader->on_head(actors::upstream_head{status, {}, {}});
    reader->on_data(body);
    reader->on_end("");
  }
};

const std::string server_error = R"({"error":{"message":"boom","type":"server_error"}})";

}  // namespace

BOOST_AUTO_TEST_SUITE(provider_actor_test)

BOOST_AUTO_TEST_CASE(the_circuit_opens_after_n_failures_and_refuses_without_a_request) {
  provider_env env(3, 3600s);
  for (std::size_t i = 1; i <= 3; ++i) {
    auto n = env.attempt();
    env.answer(i, 500, server_error);
    auto ev = env.log.next();
    BOOST_TEST(ev.attempt == n);
    BOOST_TEST((ev.what == upstream_event::kind::failed));
    BOOST_TEST(ev.fail.status == 500u);
    BOOST_TEST((ev.fail.kind == providers::failure_kind::retryable));
  }
  auto n = env.attempt();
  auto ev = env.log.next();
  BOOST_TEST(ev.attempt == n);
  BOOST_TEST((ev.what == upstream_event::kind::failed));
  BOOST_TEST(ev.fail.reason == "circuit_open");
  BOOST_TEST(ev.fail.status == 0u);
  // Nothing reached the provider, and the key was not judged: the chain moves on at once.
  BOOST_TEST((ev.fail.kind == providers::failure_kind::local_error));
  BOOST_TEST(env.pool->count() == 3u, "an open circuit opens no exchange");
}

BOOST_AUTO_TEST_CASE(an_embeddings_attempt_goes_through_the_embedding_hooks) {
  provider_env env(2, 3600s);
  auto req = std::make_shared<providers::chat_request>();
  req->embedding =
      std::make_shared<const providers::embedding_request>(std::get<providers::embedding_request>(
          providers::parse_embedding_request(R"({"input":["a","b"],"dimensions":2})")));
  env.attempt(req, "text-embedding-3-small");
  env.pool->wait_for(1);
  {
    std::lock_guard lock(env.pool->mutex);
    const auto& call = env.pool->exchanges[0].call;
    BOOST_TEST(call.url == "https://upstream.test/v1/embeddings");
    BOOST_TEST(call.body == R"({"model":"text-embedding-3-small","input":["a","b"],)"
                            R"("encoding_format":"float","dimensions":2})");
  }
  env.answer(1, 200,
             R"({"object":"list","data":[{"index":0,"embedding":[1,2]},)"
             R"({"index":1,"embedding":[3,4]}],"usage":{"prompt_tokens":2}})");
  auto ev = env.log.next();
  BOOST_REQUIRE((ev.what == upstream_event::kind::completed));
  BOOST_REQUIRE(ev.completion.embedding);
  BOOST_TEST((ev.completion.embedding->vectors == std::vector<std::vector<float>>{{1, 2}, {3, 4}}));
  BOOST_TEST(ev.completion.usage.prompt_tokens == 2);
  // One vector for two inputs: an answer nyxgate cannot use, worth another try.
  env.attempt(req, "text-embedding-3-small");
  env.answer(2, 200, R"({"data":[{"index":0,"embedding":[1,2]}]})");
  ev = env.log.next();
  BOOST_TEST((ev.what == upstream_event::kind::failed));
  BOOST_TEST((ev.fail.kind == providers::failure_kind::retryable));
}

BOOST_AUTO_TEST_CASE(answers_other_than_retryable_failures_keep_the_circuit_closed) {
  provider_env env(2, 3600s);
  env.attempt();
  env.answer(1, 503, server_error);
  env.log.next();
  env.attempt();
  env.answer(2, 401, R"({"error":{"message":"bad key","type":"invalid_request_error"}})");
  env.log.next();
  env.attempt();
  env.answer(3, 503, server_error);
  env.log.next();
  env.attempt();
  env.answer(4, 200, completion_body);
  BOOST_TEST((env.log.next().what == upstream_event::kind::completed));
  BOOST_TEST(!env.circuit->is_open());
}

/// A 429 is one key's (one tenant's) rate limit, not the provider's health: a tenant that
/// runs into its own limit must not open the circuit for every other tenant.
BOOST_AUTO_TEST_CASE(rate_limits_of_a_key_leave_the_circuit_closed) {
  provider_env env(2, 3600s);
  const std::string rate_limited =
      R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})";
  for (std::size_t i = 1; i <= 3; ++i) {
    env.attempt();
    env.answer(i, 429, rate_limited);
    auto ev = env.log.next();
    BOOST_TEST(ev.fail.status == 429u);
    BOOST_TEST((ev.fail.kind == providers::failure_kind::retryable));
  }
  BOOST_TEST(!env.circuit->is_open());
  env.attempt();
  env.answer(4, 200, completion_body);
  BOOST_TEST((env.log.next().what == upstream_event::kind::completed));
}

BOOST_AUTO_TEST_CASE(after_the_cooldown_one_probe_closes_or_reopens_the_circuit) {
  provider_env env(1, 200ms);
  env.attempt();
  env.answer(1, 502, server_error);
  env.log.next();
  env.attempt();
  BOOST_TEST(env.log.next().fail.reason == "circuit_open");

  // Half-open: the first attempt probes, a second one meanwhile is still refused.
  std::this_thread::sleep_for(250ms);
  env.attempt();
  env.pool->wait_for(2);
  env.attempt();
  BOOST_TEST(env.log.next().fail.reason == "circuit_open");
  env.answer(2, 503, server_error);
  BOOST_TEST(env.log.next().fail.status == 503u);
  // The probe failed: open again for a whole cool-down.
  env.attempt();
  BOOST_TEST(env.log.next().fail.reason == "circuit_open");
  BOOST_TEST(env.pool->count() == 2u);

  std::this_thread::sleep_for(250ms);
  env.attempt();
  env.answer(3, 200, completion_body);
  BOOST_TEST((env.log.next().what == upstream_event::kind::completed));
  // Closed: attempts go through again.
  env.attempt();
  env.answer(4, 200, completion_body);
  BOOST_TEST((env.log.next().what == upstream_event::kind::completed));
  BOOST_TEST(env.pool->count() == 4u);
}

BOOST_AUTO_TEST_SUITE_END()
