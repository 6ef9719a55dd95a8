// Actors on the I/O shards (runtime/io_scheduler): messages are handled on I/O threads, on the
// sender's shard when the sender is one, request/response and timeouts still work, and an
// actor system with thousands of short-lived actors shuts down cleanly.
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "runtime/io_runtime.hpp"
#include "runtime/io_scheduler.hpp"
#include "tests/integration/eventually.hpp"

using namespace nyxgate;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

/// Two shards plus the background thread, and an actor system running on them.
struct shard_env {
  runtime::io_runtime io{2};
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  shard_env() {
    cfg.add_message_types<caf::id_block::nyxgate_storage>();
    cfg.add_message_types<caf::id_block::nyxgate>();
    runtime::run_actors_on(cfg, io);
    sys = std::make_unique<caf::actor_system>(cfg);
    io.start();
  }
  ~shard_env() {
    sys->await_all_actors_done();  // needs the I/O threads: actors run there
    io.stop();
    io.join();
    sys.reset();
  }
};

/// Answers every integer with the io_context it was handled on (as an integer).
caf::behavior where_am_i(caf::event_based_actor*, int /*tag*/) {
  return {
      [](int) {
        return static_cast<std::int64_t>(
            reinterpret_cast<std::uintptr_t>(runtime::current_context()));
      },
  };
}

/// 1,000 run_soon steps, each queueing the next.
struct step_chain {
  int left = 1000;
  int at_posted = -1;  ///< how many steps were left when a handler posted meanwhile ran
  std::promise<void> done;

  static void link(void* p, void*) {
    auto* chain = static_cast<step_chain*>(p);
    if (--chain->left == 0) return chain->done.set_value();
    runtime::run_soon(&step_chain::link, p, nullptr);
  }
};

std::uintptr_t address(asio::io_context* ctx) {
  return reinterpret_cast<std::uintptr_t>(ctx);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(io_scheduler_test)

BOOST_AUTO_TEST_CASE(io_runtime_has_one_context_per_shard_and_a_background_one) {
  runtime::io_runtime io{3};
  auto shards = io.shards();
  BOOST_TEST(shards.size() == 3u);
  BOOST_TEST(std::set<asio::io_context*>(shards.begin(), shards.end()).size() == 3u);
  for (auto* s : shards) BOOST_TEST(s != &io.context());
  // In turn.
  BOOST_TEST(&io.next() != &io.next());
  io.start();
  BOOST_TEST(runtime::current_context() == nullptr);  // the test's thread is none of them
  std::promise<asio::io_context*> seen;
  asio::post(*shards[1], [&] { seen.set_value(runtime::current_context()); });
  BOOST_TEST(seen.get_future().get() == shards[1]);
  std::promise<asio::io_context*> background;
  asio::post(io.context(), [&] { background.set_value(&runtime::local_context(*shards[0])); });
  BOOST_TEST(background.get_future().get() == &io.context());
  io.stop();
  io.join();
}

BOOST_AUTO_TEST_CASE(run_soon_runs_after_the_handler_in_order_on_its_thread) {
  runtime::io_runtime io{1};
  io.start();
  auto* shard = io.shards()[0];
  struct record {
    std::vector<std::string> events;
    std::vector<asio::io_context*> where;
    std::promise<void> done;
  } seen;
  auto step = [](void* r, void* name) {
    auto* rec = static_cast<record*>(r);
    rec->events.emplace_back(static_cast<const char*>(name));
    rec->where.push_back(runtime::current_context());
  };
  asio::post(*shard, [&] {
    runtime::run_soon(step, &seen, const_cast<char*>("first"));
    runtime::run_soon(
        [](void* r, void*) {
          auto* rec = static_cast<record*>(r);
          rec->events.emplace_back("second");
          // Queued from a step: runs in the same burst, after the steps already queued.
          runtime::run_soon(
              [](void* r2, void*) {
                auto* last = static_cast<record*>(r2);
                last->events.emplace_back("fourth");
                last->done.set_value();
              },
              r, nullptr);
        },
        &seen, nullptr);
    runtime::run_soon(step, &seen, const_cast<char*>("third"));
    seen.events.emplace_back("handler");
  });
  seen.done.get_future().get();
  std::vector<std::string> expected{"handler", "first", "second", "third", "fourth"};
  BOOST_TEST(seen.events == expected, boost::test_tools::per_element());
  for (auto* where : seen.where) BOOST_TEST(where == shard);
  io.stop();
  io.join();
}

BOOST_AUTO_TEST_CASE(run_soon_lets_waiting_handlers_in_during_a_long_burst) {
  runtime::io_runtime io{1};
  io.start();
  auto* shard = io.shards()[0];
  step_chain c;
  asio::post(*shard, [&] {
    runtime::run_soon(&step_chain::link, &c, nullptr);
    asio::post(*shard, [&] { c.at_posted = c.left; });
  });
  c.done.get_future().get();
  // A burst stops after 16 steps: the handler posted meanwhile ran long before the chain's end.
  BOOST_TEST(c.at_posted > 500);
  io.stop();
  io.join();
}

BOOST_AUTO_TEST_CASE(run_soon_steps_queued_when_the_context_stops_still_run) {
  runtime::io_runtime io{1};
  io.start();
  auto* shard = io.shards()[0];
  std::atomic<int> ran{0};
  std::promise<void> queued;
  asio::post(*shard, [&] {
    runtime::run_soon([](void* p, void*) { ++*static_cast<std::atomic<int>*>(p); }, &ran, nullptr);
    shard->stop();  // run() returns after this handler: the burst's handler never runs
    queued.set_value();
  });
  queued.get_future().get();
  io.stop();
  io.join();
  BOOST_TEST(ran.load() == 1);
}

BOOST_AUTO_TEST_CASE(a_message_from_a_shard_is_handled_on_that_shard) {
  shard_env env;
  auto actor = env.sys->spawn(where_am_i, 0);
  for (auto* shard : env.io.shards()) {
    for (int i = 0; i < 20; ++i) {
      std::promise<std::pair<std::uintptr_t, std::uintptr_t>> answer;
      // The request goes out from an actor spawned on the shard: its reply comes back there,
      // and the idle target runs where the message was sent.
      asio::post(*shard, [&, shard] {
        env.sys->spawn(
            [&, shard, actor](caf::event_based_actor* self, int) {
              self->request(actor, caf::infinite, i).then([&, shard, self](std::int64_t where) {
                answer.set_value(
                    {static_cast<std::uintptr_t>(where), address(runtime::current_context())});
                self->quit();
              });
            },
            0);
      });
      auto [handled_on, reply_on] = answer.get_future().get();
      BOOST_TEST(handled_on == address(shard));
      BOOST_TEST(reply_on == address(shard));
    }
  }
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_message_from_another_thread_runs_on_some_shard) {
  shard_env env;
  auto actor = env.sys->spawn(where_am_i, 0);
  caf::scoped_actor self{*env.sys};
  std::set<std::uintptr_t> shards;
  for (auto* s : env.io.shards()) shards.insert(address(s));
  for (int i = 0; i < 10; ++i) {
    self->request(actor, caf::infinite, i)
        .receive([&](std::int64_t where) { BOOST_TEST(shards.count(where) == 1u); },
                 [&](caf::error& e) { BOOST_FAIL(env.sys->render(e)); });
  }
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(timeouts_and_delayed_messages_still_fire) {
  shard_env env;
  // A target that never answers (it keeps the promises): the requester's timeout must fire
  // (CAF's clock thread), and so must a delayed message.
  auto silent = env.sys->spawn(
      [](caf::event_based_actor* self, int) -> caf::behavior {
        auto kept = std::make_shared<std::vector<caf::response_promise>>();
        return {[self, kept](int) -> caf::response_promise {
          kept->push_back(self->make_response_promise());
          return kept->back();
        }};
      },
      0);
  std::promise<bool> timed_out;
  std::promise<int> delayed;
  env.sys->spawn(
      [&, silent](caf::event_based_actor* self, int) -> caf::behavior {
        auto events = std::make_shared<int>(0);
        auto done = [self, events] {
          if (++*events == 2) self->quit();
        };
        self->request(silent, 100ms, 1)
            .then([&, done](int) { timed_out.set_value(false), done(); },
                  [&, done](caf::error&) { timed_out.set_value(true), done(); });
        self->delayed_send(self, 50ms, 7);
        return {[&, done](int x) {
          delayed.set_value(x);
          done();
        }};
      },
      0);
  auto t = timed_out.get_future();
  auto d = delayed.get_future();
  BOOST_REQUIRE(t.wait_for(5s) == std::future_status::ready);
  BOOST_TEST(t.get());
  BOOST_REQUIRE(d.wait_for(5s) == std::future_status::ready);
  BOOST_TEST(d.get() == 7);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(thousands_of_short_lived_actors_end_and_the_system_stops) {
  std::atomic<int> answered{0};
  {
    shard_env env;
    auto actor = env.sys->spawn(where_am_i, 0);
    for (int i = 0; i < 5000; ++i) {
      // Some with a timeout (the clock tracks them), some without (it must not).
      auto timeout = i % 2 == 0 ? caf::duration{caf::infinite} : caf::duration{5s};
      env.sys->spawn(
          [&, actor, timeout, i](caf::event_based_actor* self, int) {
            self->request(actor, timeout, i).then([&, self](std::int64_t) {
              ++answered;
              self->quit();
            });
          },
          0);
    }
    BOOST_TEST(testing::eventually([&] { return answered.load() == 5000; }, 20s));
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }  // ~shard_env: every actor done, threads joined, no leak (ASan) and no hang
  BOOST_TEST(answered.load() == 5000);
}

BOOST_AUTO_TEST_SUITE_END()
