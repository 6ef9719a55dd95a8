// Resolution latency and throughput against a warm tenant actor, beside the same run's
// baseline: an actor that answers at once through the same sink path. Reports median and
// spread over several runs, for 1, 100 and 10,000 tenants.
//
//   build/release/benchmarks/nyxgate_bench_resolution [requests-per-run] [runs]
//
// `chain` measures instead what a completion pays per call without a message: `chain_for` on
// a published snapshot, in nanoseconds per call (median and spread over the runs).
//
//   build/release/benchmarks/nyxgate_bench_resolution chain [calls-per-run] [runs]
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include "actors/tenant_actor.hpp"
#include "app/runtime.hpp"
#include "config/config.hpp"
#include "security/key_vault.hpp"
#include "storage/database.hpp"

using namespace nyxgate;
using clock_type = std::chrono::steady_clock;

namespace {

struct run_result {
  double per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
};

/// Closed loop: `concurrency` requests in flight, each answer sends the next one. The state is
/// shared so the last callbacks may finish after the driver returns.
template <class Send>
run_result drive(std::size_t total, std::size_t concurrency, Send send) {
  struct loop_state {
    std::vector<double> latencies;
    std::atomic<std::size_t> issued{0}, done{0};
    std::promise<void> finished;
    std::function<void()> issue;
  };
  auto st = std::make_shared<loop_state>();
  st->latencies.resize(total);
  std::weak_ptr<loop_state> weak = st;
  st->issue = [weak, total, send] {
    auto s = weak.lock();
    if (!s) return;
    auto i = s->issued.fetch_add(1);
    if (i >= total) return;
    auto start = clock_type::now();
    send(i, [weak, i, start, total](actors::resolve_answer) {
      auto s = weak.lock();
      if (!s) return;
      s->latencies[i] =
          std::chrono::duration<double, std::micro>(clock_type::now() - start).count();
      s->issue();
      if (s->done.fetch_add(1) + 1 == total) s->finished.set_value();
    });
  };
  auto t0 = clock_type::now();
  auto finished = st->finished.get_future();
  for (std::size_t c = 0; c < concurrency; ++c) st->issue();
  finished.wait();
  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  auto lat = st->latencies;
  st->issue = nullptr;
  std::sort(lat.begin(), lat.end());
  return {total / secs, lat[total / 2], lat[total * 99 / 100]};
}

actors::resolve_sink sink(std::function<void(actors::resolve_answer)> fn) {
  return std::make_shared<actors::reply_sink<actors::resolve_answer>>(std::move(fn),
                                                                      actors::resolve_answer{});
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double spread(std::vector<double> v) {
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return *hi - *lo;
}

/// A snapshot of `users` users, each with one personal key per chat provider, and two tenant
/// keys per chat provider (one of them in cooldown).
actors::tenant_snapshot_ptr synthetic_snapshot(int users) {
  auto snap = std::make_shared<actors::tenant_snapshot>();
  std::int64_t created = 1700000000000000;
  int n = 0;
  auto add = [&](const char* provider, std::optional<std::string> user, const char* status) {
    providers::key_record k;
    k.id = "00000000-0000-4000-8000-" + std::to_string(100000000000 + n++);
    k.provider = provider;
    k.user_id = std::move(user);
    k.status = *providers::parse_key_status(status);
    k.cooldown_until = k.status == providers::key_status::cooldown ? 4000000000 : 0;
    k.created_at = created++;
    k.secret = "sk-bench-key-000000";
    snap->keys.push_back(std::move(k));
  };
  for (const char* p : {"openai", "anthropic", "google", "kimi"}) {
    add(p, std::nullopt, "active");
    add(p, std::nullopt, "cooldown");
    for (int u = 0; u < users; ++u) add(p, "user-" + std::to_string(u), "active");
  }
  snap->defaults.fallback = "anthropic";
  snap->build_index();
  return snap;
}

int chain_bench(std::size_t calls, int runs) {
  std::printf("# chain_for on a published snapshot, %zu calls x %d runs\n", calls, runs);
  std::printf("%-7s %-26s %12s %9s\n", "users", "model", "ns/call(med)", "spread%");
  for (int users : {0, 10, 1000}) {
    auto snap = synthetic_snapshot(users);
    for (const char* model : {"auto", "anthropic/claude-opus-4", "gemini-2.5-pro"}) {
      actors::resolve_query q{users ? "user-7" : "", "", model};
      std::vector<double> ns;
      std::size_t sink = 0;
      for (int run = 0; run < runs; ++run) {
        auto t0 = clock_type::now();
        for (std::size_t i = 0; i < calls; ++i)
          sink += actors::chain_for(snap, q)->chain.elements.size();
        ns.push_back(std::chrono::duration<double, std::nano>(clock_type::now() - t0).count() /
                     static_cast<double>(calls));
      }
      if (sink == 0) return 1;
      std::printf("%-7d %-26s %12.1f %8.1f%%\n", users, model, median(ns),
                  100 * spread(ns) / median(ns));
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view{argv[1]} == "chain")
    return chain_bench(argc > 2 ? std::stoul(argv[2]) : 1000000, argc > 3 ? std::atoi(argv[3]) : 7);
  std::size_t requests = argc > 1 ? std::stoul(argv[1]) : 200000;
  int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  char dir[] = "/tmp/nyxgate-bench-XXXXXX";
  if (!::mkdtemp(dir)) return 1;
  ::chmod(dir, 0755);
  config::settings s;
  s.server.data_dir = dir;
  s.database.embedded_fast_unsafe = true;
  app::runtime rt(s, 4);
  auto vault = std::make_shared<actors::vault_ref>();
  auto kv = std::make_shared<security::key_vault>();
  kv->add_fresh_key();
  vault->vault = kv;
  auto& db = rt.db();

  std::printf("# resolution vs empty actor round trip, %zu requests x %d runs, concurrency 64\n",
              requests, runs);
  std::printf("%-8s %-10s %14s %12s %12s %10s\n", "tenants", "what", "req/s (med)", "p50 us",
              "p99 us", "spread%");
  for (std::size_t tenants : {std::size_t{1}, std::size_t{100}, std::size_t{10000}}) {
    // Seed: tenants, each with one tenant key and one personal key for one user.
    std::vector<std::string> ids;
    {
      storage::db_batch b;
      b.transaction = true;
      storage::statement clear{"TRUNCATE tenants, users CASCADE"};
      b.statements.push_back(clear);
      storage::statement t{
          "INSERT INTO tenants (slug, name) SELECT 'b' || g, 'B' FROM generate_series(1, $1) g"};
      t.bind(static_cast<std::int64_t>(tenants));
      b.statements.push_back(t);
      b.statements.push_back(
          storage::statement{"INSERT INTO llm_defaults (tenant_id) SELECT id FROM tenants"});
      b.statements.push_back(storage::statement{"SELECT id FROM tenants ORDER BY slug"});
      auto r = db.execute_blocking(std::move(b), std::chrono::seconds(120));
      if (!r.ok()) {
        std::fprintf(stderr, "seed failed: %s\n", r.message.c_str());
        return 1;
      }
      const auto& rows = r.results.back();
      for (std::size_t i = 0; i < rows.rows(); ++i) ids.push_back(rows.at(i, 0));
      storage::db_batch keys;
      keys.transaction = true;
      for (const auto& id : ids) {
        auto kid = "00000000-0000-4000-8000-" +
                   std::string(12 - std::min<std::size_t>(
                                        12, std::to_string(keys.statements.size()).size()),
                               '0') +
                   std::to_string(keys.statements.size());
        auto sealed = kv->seal("sk-bench-key-000000", id + ":" + kid);
        storage::statement k{
            "INSERT INTO api_keys (tenant_id, id, provider, name, secret_ciphertext, secret_nonce, "
            "key_version, hint) VALUES ($1, $2, 'openai', 'k', decode($3, 'hex'), decode($4, "
            "'hex'), 1, '0000')"};
        k.bind(id)
            .bind(kid)
            .bind(security::to_hex(sealed.ciphertext))
            .bind(security::to_hex(sealed.nonce));
        keys.statements.push_back(std::move(k));
      }
      auto kr = db.execute_blocking(std::move(keys), std::chrono::seconds(300));
      if (!kr.ok()) {
        std::fprintf(stderr, "seed keys failed: %s\n", kr.message.c_str());
        return 1;
      }
    }
    actors::tenant_directory dir_(rt.actors(), db, vault);
    std::vector<actors::tenant_actor> handles;
    for (const auto& id : ids) handles.push_back(dir_.get(id));
    // Warm up: every actor loads once.
    drive(ids.size(), 64, [&](std::size_t i, auto done) {
      caf::anon_send(handles[i], actors::resolve_atom_v, actors::resolve_query{}, sink(done));
    });
    auto echo = actors::spawn_echo_actor(rt.actors());
    // A second baseline with as many empty actors as tenants: it separates the cost of
    // spreading messages over many mailboxes from the cost of resolving.
    std::vector<actors::echo_actor> echoes;
    for (std::size_t i = 0; i < ids.size(); ++i)
      echoes.push_back(actors::spawn_echo_actor(rt.actors()));
    std::vector<double> base_rps, base_p50, base_p99, res_rps, res_p50, res_p99;
    std::vector<double> many_rps, many_p50, many_p99;
    std::mt19937 rng(42);
    for (int run = 0; run < runs; ++run) {
      auto b = drive(requests, 64, [&](std::size_t, auto done) {
        caf::anon_send(echo, actors::ping_atom_v, actors::resolve_query{}, sink(done));
      });
      auto r = drive(requests, 64, [&](std::size_t i, auto done) {
        caf::anon_send(handles[i % handles.size()], actors::resolve_atom_v, actors::resolve_query{},
                       sink(done));
      });
      auto m = drive(requests, 64, [&](std::size_t i, auto done) {
        caf::anon_send(echoes[i % echoes.size()], actors::ping_atom_v, actors::resolve_query{},
                       sink(done));
      });
      many_rps.push_back(m.per_second), many_p50.push_back(m.p50_us), many_p99.push_back(m.p99_us);
      base_rps.push_back(b.per_second), base_p50.push_back(b.p50_us), base_p99.push_back(b.p99_us);
      res_rps.push_back(r.per_second), res_p50.push_back(r.p50_us), res_p99.push_back(r.p99_us);
    }
    std::printf("%-8zu %-10s %14.0f %12.1f %12.1f %9.1f%%\n", tenants, "baseline", median(base_rps),
                median(base_p50), median(base_p99), 100 * spread(base_rps) / median(base_rps));
    std::printf("%-8zu %-10s %14.0f %12.1f %12.1f %9.1f%%\n", tenants, "resolve", median(res_rps),
                median(res_p50), median(res_p99), 100 * spread(res_rps) / median(res_rps));
    std::printf("%-8zu %-10s %14.0f %12.1f %12.1f %9.1f%%\n", tenants, "baseline-N",
                median(many_rps), median(many_p50), median(many_p99),
                100 * spread(many_rps) / median(many_rps));
    std::printf("%-8zu %-10s %14.2f %12.2f %12.2f\n", tenants, "ratio",
                median(base_rps) / median(res_rps), median(res_p50) / median(base_p50),
                median(res_p99) / median(base_p99));
    std::printf("%-8zu %-10s %14.2f %12.2f %12.2f\n", tenants, "ratio-N",
                median(many_rps) / median(res_rps), median(res_p50) / median(many_p50),
                median(res_p99) / median(many_p99));
    for (auto& e : echoes) caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
    dir_.stop_all();
  }
  rt.stop();
  std::filesystem::remove_all(dir);
  return 0;
}
