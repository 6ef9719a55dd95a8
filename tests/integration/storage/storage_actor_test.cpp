// Storage actors against the real PostgreSQL: parameterised queries, error classes,
// transactions, migrations, and surviving a database restart.
#include <boost/test/unit_test.hpp>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/messages.hpp"
#include "app/runtime.hpp"
#include "runtime/io_runtime.hpp"
#include "storage/database.hpp"
#include "storage/embedded_postgres.hpp"
#include "storage/migrations.hpp"
#include "tests/integration/pg_fixture.hpp"
#include "tests/integration/storage/storage_env.hpp"

using namespace nyxgate;
using storage::db_errc;
using storage::statement;
using testing::storage_env;

namespace {

storage::db_reply run(storage::database& db, statement st) {
  return db.execute_blocking(storage::single(std::move(st)), std::chrono::seconds(10));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(storage_actor_test)

BOOST_AUTO_TEST_CASE(parameters_are_sent_as_values_never_spliced) {
  storage_env env(testing::fresh_database());
  statement st{"SELECT $1::text, $2::bigint + 1, $3::text IS NULL"};
  st.bind("x'); DROP TABLE users; --").bind(std::int64_t{41}).bind_null();
  auto r = run(*env.db, st);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r.results[0].at(0, 0) == "x'); DROP TABLE users; --");
  BOOST_TEST(r.results[0].at(0, 1) == "42");
  BOOST_TEST(r.results[0].at(0, 2) == "t");
}

BOOST_AUTO_TEST_CASE(errors_are_classified_by_sqlstate) {
  storage_env env(testing::fresh_database());
  BOOST_REQUIRE(run(*env.db, statement{"CREATE TABLE t (id int PRIMARY KEY CHECK (id > 0))"}).ok());
  BOOST_REQUIRE(run(*env.db, statement{"INSERT INTO t VALUES (1)"}).ok());
  BOOST_TEST(run(*env.db, statement{"INSERT INTO t VALUES (1)"}).error ==
             db_errc::unique_violation);
  BOOST_TEST(run(*env.db, statement{"INSERT INTO t VALUES (-1)"}).error ==
             db_errc::check_violation);
  auto syntax = run(*env.db, statement{"SELEC 1"});
  BOOST_TEST(syntax.error == db_errc::other);
  BOOST_TEST(syntax.sqlstate == "42601");
  // The connection is still usable after errors.
  BOOST_TEST(run(*env.db, statement{"SELECT count(*) FROM t"}).results[0].at(0, 0) == "1");
}

BOOST_AUTO_TEST_CASE(a_failed_transaction_rolls_back_every_statement) {
  storage_env env(testing::fresh_database());
  BOOST_REQUIRE(run(*env.db, statement{"CREATE TABLE t (id int PRIMARY KEY)"}).ok());
  storage::db_batch b;
  b.transaction = true;
  b.statements.emplace_back("INSERT INTO t VALUES (1)");
  b.statements.emplace_back("INSERT INTO t VALUES (1)");
  auto r = env.db->execute_blocking(b);
  BOOST_TEST(r.error == db_errc::unique_violation);
  BOOST_TEST(run(*env.db, statement{"SELECT count(*) FROM t"}).results[0].at(0, 0) == "0");
  b.statements.pop_back();
  BOOST_TEST(env.db->execute_blocking(b).ok());
  BOOST_TEST(run(*env.db, statement{"SELECT count(*) FROM t"}).results[0].at(0, 0) == "1");
}

BOOST_AUTO_TEST_CASE(many_concurrent_callers_all_get_one_reply) {
  storage_env env(testing::fresh_database(), 3);
  constexpr int n = 2000;
  std::atomic<int> ok{0}, replies{0};
  for (int i = 0; i < n; ++i) {
    statement st{"SELECT $1::int * 2"};
    st.bind(std::int64_t{i});
    env.db->execute(storage::single(std::move(st)), [&, i](storage::db_reply r) {
      if (r.ok() && r.results[0].at(0, 0) == std::to_string(i * 2)) ++ok;
      ++replies;
    });
  }
  for (int i = 0; i < 200 && replies.load() < n; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_TEST(replies.load() == n);
  // Beyond the queue bound callers get `overloaded` rather than waiting without limit.
  BOOST_TEST(ok.load() > 0);
}

BOOST_AUTO_TEST_CASE(migrations_apply_once_and_are_idempotent) {
  storage_env env(testing::fresh_database());
  BOOST_TEST(app::migrate(*env.db) == storage::latest_schema_version());
  BOOST_TEST(app::migrate(*env.db) == storage::latest_schema_version());
  auto rows = run(*env.db, statement{"SELECT count(*) FROM schema_migrations"});
  BOOST_TEST(rows.results[0].at(0, 0) == std::to_string(storage::migrations().size()));
  for (auto table :
       {"tenants", "users", "memberships", "access_tokens", "api_keys", "llm_defaults"}) {
    statement st{"SELECT to_regclass($1) IS NOT NULL"};
    st.bind(table);
    BOOST_TEST(run(*env.db, st).results[0].at(0, 0) == "t", table);
  }
}

BOOST_AUTO_TEST_CASE(concurrent_migrators_serialize_on_the_advisory_lock) {
  auto conninfo = testing::fresh_database();
  storage_env a(conninfo), b(conninfo);
  std::atomic<int> done{0};
  std::vector<storage::db_reply> replies(2);
  a.db->execute(storage::migrate_batch(), [&](storage::db_reply r) {
    replies[0] = std::move(r);
    ++done;
  });
  b.db->execute(storage::migrate_batch(), [&](storage::db_reply r) {
    replies[1] = std::move(r);
    ++done;
  });
  for (int i = 0; i < 200 && done.load() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_REQUIRE(done.load() == 2);
  BOOST_TEST(replies[0].ok(), replies[0].message);
  BOOST_TEST(replies[1].ok(), replies[1].message);
}

BOOST_AUTO_TEST_CASE(api_keys_personal_flag_must_match_user) {
  storage_env env(testing::fresh_database());
  app::migrate(*env.db);
  BOOST_REQUIRE(run(*env.db, statement{"INSERT INTO tenants (slug, name) VALUES ('t', 'T')"}).ok());
  auto personal_without_user = run(
      *env.db, statement{"INSERT INTO api_keys (tenant_id, is_personal, provider, name, "
                         "secret_ciphertext, secret_nonce, hint) SELECT id, true, 'openai', 'k', "
                         "'\\x00', '\\x00', 'abcd' FROM tenants"});
  BOOST_TEST(personal_without_user.error == db_errc::check_violation);
}

BOOST_AUTO_TEST_CASE(storage_survives_a_database_restart) {
  auto dir = testing::temp_dir();
  storage::embedded_options eo;
  eo.data_dir = dir;
  eo.fast_unsafe = true;
  auto pg = storage::embedded_postgres::start(eo);
  storage_env env(pg->conninfo());
  BOOST_REQUIRE(run(*env.db, statement{"CREATE TABLE t (id int)"}).ok());

  pg->stop();
  // Meanwhile callers get a clear error at once instead of hanging.
  auto during = run(*env.db, statement{"SELECT 1"});
  BOOST_TEST(!during.ok());
  BOOST_TEST((during.error == db_errc::unavailable || during.error == db_errc::connection_lost));
  BOOST_TEST(!during.message.empty());

  pg->restart();
  BOOST_REQUIRE(env.db->wait_connected(std::chrono::seconds(30)));
  auto after = run(*env.db, statement{"INSERT INTO t VALUES (1)"});
  BOOST_TEST(after.ok(), after.message);
}

BOOST_AUTO_TEST_CASE(batches_go_to_a_connection_that_is_up) {
  auto dir = testing::temp_dir();
  storage::embedded_options eo;
  eo.data_dir = dir;
  eo.fast_unsafe = true;
  auto pg = storage::embedded_postgres::start(eo);
  storage_env env(pg->conninfo(), 4);

  pg->stop();
  // Every connection fails its reconnects meanwhile, so their backoffs grow apart.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  pg->restart();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!run(*env.db, statement{"SELECT 1"}).ok() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  // One connection is back: every batch is served, while the others still wait out their
  // backoff.
  int failed = 0;
  for (int i = 0; i < 20; ++i) failed += run(*env.db, statement{"SELECT 1"}).ok() ? 0 : 1;
  BOOST_TEST(failed == 0);
}

BOOST_AUTO_TEST_SUITE_END()
