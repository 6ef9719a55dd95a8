// The usage recorder against the real PostgreSQL: rows land in batches off the caller's
// thread, a timer flushes a partial batch, shutdown flushes the rest, and bad rows or an
// overfull queue drop rows instead of blocking or poisoning a batch.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/messages.hpp"
#include "app/runtime.hpp"
#include "identity/token.hpp"
#include "runtime/io_runtime.hpp"
#include "storage/database.hpp"
#include "storage/usage_recorder.hpp"
#include "storage/usage_retention.hpp"
#include "tests/integration/eventually.hpp"
#include "tests/integration/pg_fixture.hpp"
#include "tests/integration/storage/storage_env.hpp"

using namespace nyxgate;
using nyxgate::testing::eventually;
using namespace std::chrono_literals;

namespace {

/// A migrated database with a storage pool; `conninfo` for direct checks.
struct usage_env : testing::storage_env {
  std::string conninfo;

  explicit usage_env(std::string c = testing::fresh_database())
      : storage_env(c), conninfo(std::move(c)) {
    app::migrate(*db);
  }

  long rows(const std::string& where = "true") {
    return std::stol(
        testing::sql(conninfo, "SELECT count(*) FROM usage_events WHERE " + where).at(0).at(0));
  }
};

storage::usage_event event(const std::string& tenant, int i) {
  storage::usage_event e;
  e.tenant_id = tenant;
  e.request_id = "req-" + std::to_string(i);
  e.provider = "openai";
  e.model = "gpt-4o-mini";
  e.key_id = identity::new_uuid();
  e.key_scope = "tenant";
  e.status = storage::usage_status::ok;
  e.prompt_tokens = i;
  e.completion_tokens = 2;
  e.latency_ms = 7;
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(usage_recorder_test)

BOOST_AUTO_TEST_CASE(full_batches_land_and_shutdown_flushes_the_rest) {
  usage_env env;
  storage::usage_settings s;
  s.batch_rows = 100;
  s.flush_interval = std::chrono::hours(1);  // only full batches and shutdown write
  auto recorder = storage::usage_recorder::create(env.io.context(), *env.db, s);
  auto tenant = identity::new_uuid();
  std::vector<std::thread> writers;
  for (int t = 0; t < 5; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) recorder->record(event(tenant, t * 50 + i));
    });
  for (auto& w : writers) w.join();
  BOOST_TEST(eventually([&] { return recorder->written() == 200u; }));
  BOOST_TEST(env.rows() == 200);
  recorder->flush_and_stop(5s);
  BOOST_TEST(recorder->written() == 250u);
  BOOST_TEST(recorder->dropped() == 0u);
  BOOST_TEST(env.rows("tenant_id = '" + tenant + "'") == 250);
  BOOST_TEST(env.rows("prompt_tokens BETWEEN 0 AND 249") == 250);
  // Empty ids become NULL; the timestamp is the time of the call, not of the flush.
  auto row = testing::sql(env.conninfo,
                          "SELECT user_id IS NULL, key_scope, fallback, status, "
                          "abs(extract(epoch FROM now() - created_at)) < 60 "
                          "FROM usage_events WHERE request_id = 'req-0'");
  BOOST_REQUIRE(row.size() == 1u);
  BOOST_TEST(row[0][0] == "t");
  BOOST_TEST(row[0][1] == "tenant");
  BOOST_TEST(row[0][2] == "f");
  BOOST_TEST(row[0][3] == "ok");
  BOOST_TEST(row[0][4] == "t");
  // After the stop, rows are refused (and counted), never written.
  recorder->record(event(tenant, 999));
  BOOST_TEST(recorder->dropped() == 1u);
}

BOOST_AUTO_TEST_CASE(values_arrive_exactly_whatever_their_characters) {
  // The batch travels in COPY's binary format: quotes, backslashes, braces, commas, tabs, line
  // breaks, NULL-looking text, non-ASCII and values far longer than a row's usual size must
  // come back unchanged, ids as sent (upper-case hex too), empty ids as NULL, the flag as a
  // bool.
  usage_env env;
  storage::usage_settings s;
  s.flush_interval = std::chrono::hours(1);
  auto recorder = storage::usage_recorder::create(env.io.context(), *env.db, s);
  auto tenant = identity::new_uuid();
  const std::vector<std::string> models{
      R"(a"b)", R"(back\slash\)", "{x,y}", "NULL", "", "modèle 模型", " spaced ", "tab\there",
      "line\nbreak\r\n", R"(\N)", "\\.", "x\t\\t",
      // Past eight bytes (escaping scans words): at each position around a word's end.
      R"(ABCDEFG\)", R"(abcdefgh\)", "0123456789\tab", "sixteen-bytes-ok\n!",
      "long clean text, no escapes", std::string(5000, 'm'), std::string(40000, 'x') + "\t!"};
  std::vector<std::string> key_ids;
  for (std::size_t i = 0; i < models.size(); ++i) {
    auto e = event(tenant, static_cast<int>(i));
    e.model = models[i];
    e.fallback = i % 2 == 1;
    if (i == 2) e.key_id.clear();
    if (i == 3) e.key_id = "0A1B2C3D-4E5F-6789-ABCD-EF0123456789";
    key_ids.push_back(e.key_id);
    recorder->record(std::move(e));
  }
  recorder->flush_and_stop(5s);
  BOOST_TEST(recorder->written() == models.size());
  auto rows = testing::sql(env.conninfo,
                           "SELECT model, fallback, key_id IS NULL, prompt_tokens, "
                           "coalesce(upper(key_id::text), ''), tenant_id::text, user_id IS NULL "
                           "FROM usage_events ORDER BY prompt_tokens");
  BOOST_REQUIRE(rows.size() == models.size());
  for (std::size_t i = 0; i < models.size(); ++i) {
    BOOST_TEST(rows[i][0] == models[i]);
    BOOST_TEST(rows[i][1] == (i % 2 == 1 ? "t" : "f"));
    BOOST_TEST(rows[i][2] == (i == 2 ? "t" : "f"));
    BOOST_TEST(rows[i][3] == std::to_string(i));
    auto key = key_ids[i];
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    BOOST_TEST(rows[i][4] == key);
    BOOST_TEST(rows[i][5] == tenant);
    BOOST_TEST(rows[i][6] == "t");
  }
}

BOOST_AUTO_TEST_CASE(usage_detail_and_operation_land_in_their_columns) {
  usage_env env;
  storage::usage_settings s;
  s.flush_interval = std::chrono::hours(1);
  auto recorder = storage::usage_recorder::create(env.io.context(), *env.db, s);
  auto tenant = identity::new_uuid();
  auto chat = event(tenant, 10);
  chat.cached_tokens = 4;
  chat.reasoning_tokens = 1;
  auto embeddings = event(tenant, 20);
  embeddings.operation = storage::usage_operation::embeddings;
  embeddings.completion_tokens = 0;
  auto negative = event(tenant, 30);
  negative.cached_tokens = -1;
  recorder->record(std::move(chat));
  recorder->record(std::move(embeddings));
  recorder->record(std::move(negative));
  recorder->flush_and_stop(5s);
  BOOST_TEST(recorder->written() == 2u);
  BOOST_TEST(recorder->dropped() == 1u);
  auto rows = testing::sql(env.conninfo,
                           "SELECT prompt_tokens, cached_tokens, reasoning_tokens, operation, "
                           "completion_tokens FROM usage_events ORDER BY prompt_tokens");
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[0] == (std::vector<std::string>{"10", "4", "1", "chat", "2"}),
             boost::test_tools::per_element());
  BOOST_TEST(rows[1] == (std::vector<std::string>{"20", "0", "0", "embeddings", "0"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_timer_writes_a_partial_batch) {
  usage_env env;
  storage::usage_settings s;
  s.batch_rows = 500;
  s.flush_interval = 100ms;
  auto recorder = storage::usage_recorder::create(env.io.context(), *env.db, s);
  auto tenant = identity::new_uuid();
  for (int i = 0; i < 3; ++i) recorder->record(event(tenant, i));
  BOOST_TEST(eventually([&] { return env.rows() == 3; }, 3s));
  // A quiet spell: the timer runs only while rows wait, so the next row must start it again.
  std::this_thread::sleep_for(300ms);
  recorder->record(event(tenant, 3));
  BOOST_TEST(eventually([&] { return env.rows() == 4; }, 3s));
  recorder->flush_and_stop(5s);
  BOOST_TEST(env.rows() == 4);
}

BOOST_AUTO_TEST_CASE(invalid_rows_are_dropped_without_poisoning_the_batch) {
  usage_env env;
  storage::usage_settings s;
  s.flush_interval = std::chrono::hours(1);
  auto recorder = storage::usage_recorder::create(env.io.context(), *env.db, s);
  auto tenant = identity::new_uuid();
  auto bad_tenant = event(tenant, 1);
  bad_tenant.tenant_id = "acme";
  auto bad_key = event(tenant, 2);
  bad_key.key_id = "key-1'; DROP TABLE usage_events; --";
  auto bad_status = event(tenant, 3);
  bad_status.status = static_cast<storage::usage_status>(9);  // outside the enum
  auto negative = event(tenant, 4);
  negative.completion_tokens = -1;
  for (auto* e : {&bad_tenant, &bad_key, &bad_status, &negative}) {
    BOOST_TEST(!storage::valid_usage_event(*e));
    recorder->record(*e);
  }
  recorder->record(event(tenant, 5));
  recorder->flush_and_stop(5s);
  BOOST_TEST(recorder->dropped() == 4u);
  BOOST_TEST(recorder->written() == 1u);
  BOOST_TEST(env.rows() == 1);
}

BOOST_AUTO_TEST_CASE(a_full_queue_drops_instead_of_blocking) {
  usage_env env;
  storage::usage_settings s;
  s.batch_rows = 1000;
  s.max_pending = 10;
  s.flush_interval = std::chrono::hours(1);
  auto recorder = storage::usage_recorder::create(env.io.context(), *env.db, s);
  auto tenant = identity::new_uuid();
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 15; ++i) recorder->record(event(tenant, i));
  BOOST_TEST((std::chrono::steady_clock::now() - started < 1s));
  BOOST_TEST(recorder->dropped() == 5u);
  recorder->flush_and_stop(5s);
  BOOST_TEST(env.rows() == 10);
}

BOOST_AUTO_TEST_CASE(the_call_time_lands_to_the_microsecond_and_nul_bytes_are_dropped) {
  usage_env env;
  storage::usage_settings s;
  s.flush_interval = std::chrono::hours(1);
  auto recorder = storage::usage_recorder::create(env.io.context(), *env.db, s);
  auto tenant = identity::new_uuid();
  // 2026-11-23 16:01:58.000042 UTC, then one microsecond before an epoch second, then the
  // epoch itself.
  const std::vector<std::int64_t> times{1795449718000042, 1795449718999999, 0};
  for (std::size_t i = 0; i < times.size(); ++i) {
    auto e = event(tenant, static_cast<int>(i));
    e.at_us = times[i] == 0 ? 1 : times[i];
    if (i == 2) e.model = std::string{"nul\0byte", 8};
    recorder->record(std::move(e));
  }
  recorder->flush_and_stop(5s);
  BOOST_TEST(recorder->written() == times.size());
  BOOST_TEST(recorder->dropped() == 0u);
  auto rows = testing::sql(env.conninfo,
                           "SELECT (extract(epoch FROM created_at) * 1000000)::bigint, "
                           "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), "
                           "model FROM usage_events ORDER BY prompt_tokens");
  BOOST_REQUIRE(rows.size() == times.size());
  BOOST_TEST(rows[0][0] == "1795449718000042");
  BOOST_TEST(rows[0][1] == "2026-11-23 16:01:58.000042");
  BOOST_TEST(rows[1][0] == "1795449718999999");
  BOOST_TEST(rows[2][0] == "1");
  BOOST_TEST(rows[2][1] == "1970-01-01 00:00:00.000001");
  BOOST_TEST(rows[2][2] == "nulbyte");
}

BOOST_AUTO_TEST_CASE(retention_deletes_only_rows_past_the_limit_in_batches) {
  usage_env env;
  auto insert = [&](int count, const std::string& age) {
    testing::sql(env.conninfo,
                 "INSERT INTO usage_events (tenant_id, request_id, status, created_at) "
                 "SELECT gen_random_uuid(), 'r' || g, 'ok', now() - interval '" +
                     age + "' FROM generate_series(1, " + std::to_string(count) + ") g");
  };
  insert(7, "100 days");
  insert(2, "89 days");
  insert(3, "1 day");
  storage::retention_settings s;
  s.retention_days = 90;
  s.batch_rows = 3;  // 7 expired rows: batches of 3, 3 and 1
  s.interval = 50ms;
  s.pause = 1ms;
  auto retention = storage::usage_retention::start(env.io.context(), *env.db, s);
  BOOST_TEST(eventually([&] { return retention->deleted() == 7; }, 10s));
  BOOST_TEST(env.rows("created_at < now() - interval '90 days'") == 0);
  BOOST_TEST(env.rows() == 5);
  std::this_thread::sleep_for(200ms);  // later passes find nothing more to delete
  BOOST_TEST(retention->deleted() == 7u);
  BOOST_TEST(env.rows() == 5);
  retention->stop();
}

BOOST_AUTO_TEST_CASE(retention_of_zero_days_keeps_every_row) {
  usage_env env;
  testing::sql(env.conninfo,
               "INSERT INTO usage_events (tenant_id, request_id, status, created_at) "
               "VALUES (gen_random_uuid(), 'old', 'ok', now() - interval '10 years')");
  storage::retention_settings s;
  s.retention_days = 0;
  s.interval = 10ms;
  auto retention = storage::usage_retention::start(env.io.context(), *env.db, s);
  std::this_thread::sleep_for(200ms);
  BOOST_TEST(retention->deleted() == 0u);
  BOOST_TEST(env.rows() == 1);
  retention->stop();
}

BOOST_AUTO_TEST_SUITE_END()
