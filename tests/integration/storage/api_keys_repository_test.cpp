// api_keys_repository against the real PostgreSQL: typed rows with named fields, visibility of
// personal keys, the status text mapped both ways, and that no statement brings a revoked key
// back.
#include <boost/test/unit_test.hpp>

#include "providers/key_status.hpp"
#include "security/key_vault.hpp"
#include "storage/api_keys_repository.hpp"
#include "storage/identity_repository.hpp"
#include "storage/migrations.hpp"
#include "tests/integration/pg_fixture.hpp"
#include "tests/integration/storage/storage_env.hpp"

using namespace nyxgate;
using providers::key_status;
using storage::statement;
namespace keys = storage::api_keys_repository;
namespace identity_repo = storage::identity_repository;

namespace {

constexpr const char* tenant_key = "5b0c3f4e-0000-4000-8000-000000000001";
constexpr const char* personal_key = "5b0c3f4e-0000-4000-8000-000000000002";

/// A migrated database with one tenant, its owner and two keys: a tenant key and the owner's
/// personal key. The secrets are not sealed under any vault: these tests never open them.
struct keyed_database {
  std::string conninfo = testing::fresh_database();
  testing::storage_env env{conninfo};
  std::string tenant_id;
  std::string owner_id;
  std::string other_user_id = "5b0c3f4e-0000-4000-8000-0000000000ff";
  security::sealed_secret sealed{"cipher", "nonce-12byte", 1};

  keyed_database() {
    BOOST_REQUIRE(env.db->execute_blocking(storage::migrate_batch()).ok());
    BOOST_REQUIRE(env.db
                      ->execute_blocking(identity_repo::create_tenant_with_owner(
                          "acme", "Acme", "owner@acme.test", "Owner", std::string(64, 'a')))
                      .ok());
    auto ids = testing::sql(conninfo, "SELECT tenant_id, user_id FROM memberships");
    tenant_id = ids.at(0).at(0);
    owner_id = ids.at(0).at(1);
    create(tenant_key, std::nullopt, "team");
    create(personal_key, owner_id, "mine");
  }

  void create(const std::string& id, std::optional<std::string> user, std::string_view name) {
    keys::new_key k{tenant_id, id, std::move(user), "openai", name, sealed, "abcd", owner_id};
    auto r = run(keys::create(k));
    BOOST_REQUIRE_EQUAL(keys::key_rows(r.results.front()).size(), 1u);
  }

  storage::db_reply run(statement st) {
    auto r = env.db->execute_blocking(storage::single(std::move(st)), std::chrono::seconds(10));
    BOOST_REQUIRE_MESSAGE(r.ok(), r.message);
    return r;
  }

  std::string stored_status(const std::string& id) {
    return testing::sql(conninfo, "SELECT status FROM api_keys WHERE id = '" + id + "'")
        .at(0)
        .at(0);
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(api_keys_repository_test, keyed_database)

BOOST_AUTO_TEST_CASE(rows_carry_named_fields) {
  auto rows = keys::key_rows(run(keys::visible_key(tenant_id, personal_key, owner_id)).results[0]);
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  const auto& k = rows.front();
  BOOST_TEST(k.id == personal_key);
  BOOST_TEST(k.provider == "openai");
  BOOST_TEST(k.name == "mine");
  BOOST_TEST(k.hint == "abcd");
  BOOST_TEST(k.personal);
  BOOST_TEST((k.status == key_status::active));
  BOOST_TEST(!k.status_reason.has_value());
  BOOST_TEST(!k.cooldown_until.has_value());
  BOOST_TEST(k.created_at.size() == 24u);  // 2026-01-02T03:04:05.678Z

  auto sealed_rows = keys::sealed_key_rows(run(keys::tenant_keys(tenant_id)).results[0]);
  BOOST_REQUIRE_EQUAL(sealed_rows.size(), 2u);
  for (const auto& s : sealed_rows) {
    BOOST_TEST(s.sealed.ciphertext == sealed.ciphertext);
    BOOST_TEST(s.sealed.nonce == sealed.nonce);
    BOOST_TEST(s.sealed.key_version == sealed.key_version);
    BOOST_TEST(s.created_at_us > 0);
    BOOST_TEST(s.user_id.has_value() == s.key.personal);
  }
}

BOOST_AUTO_TEST_CASE(another_users_personal_key_is_not_visible) {
  BOOST_TEST(keys::key_rows(run(keys::list_visible(tenant_id, owner_id)).results[0]).size() == 2u);
  auto others = keys::key_rows(run(keys::list_visible(tenant_id, other_user_id)).results[0]);
  BOOST_REQUIRE_EQUAL(others.size(), 1u);
  BOOST_TEST(others.front().id == tenant_key);
  BOOST_TEST(run(keys::visible_key(tenant_id, personal_key, other_user_id)).results[0].empty());
  BOOST_TEST(run(keys::remove(tenant_id, personal_key, other_user_id)).results[0].empty());
  BOOST_TEST(stored_status(personal_key) == "active");
}

BOOST_AUTO_TEST_CASE(every_status_is_written_and_read_back_as_its_enum) {
  for (auto status : {key_status::invalid, key_status::cooldown, key_status::active}) {
    BOOST_TEST_CONTEXT("status " << status) {
      auto r = run(keys::set_status(tenant_id, tenant_key, status, "why", 60));
      BOOST_TEST(r.results[0].affected == 1);
      BOOST_TEST(stored_status(tenant_key) == std::string{providers::to_string(status)});
      auto k = keys::key_rows(run(keys::visible_key(tenant_id, tenant_key, owner_id)).results[0]);
      BOOST_TEST((k.at(0).status == status));
      BOOST_TEST(k.at(0).cooldown_until.has_value() == (status == key_status::cooldown));
    }
  }
}

BOOST_AUTO_TEST_CASE(no_statement_brings_a_revoked_key_back) {
  testing::sql(conninfo,
               "UPDATE api_keys SET status = 'revoked', status_reason = 'by hand' "
               "WHERE id = '" +
                   std::string{tenant_key} + "'");
  for (auto status : {key_status::active, key_status::invalid, key_status::cooldown}) {
    auto r = run(keys::set_status(tenant_id, tenant_key, status, "probe", 60));
    BOOST_TEST(r.results[0].affected == 0);
  }
  auto replaced = keys::key_rows(
      run(keys::replace_secret(tenant_id, tenant_key, owner_id, sealed, "wxyz", std::nullopt))
          .results[0]);
  BOOST_REQUIRE_EQUAL(replaced.size(), 1u);
  BOOST_TEST((replaced.front().status == key_status::revoked));
  BOOST_TEST((replaced.front().status_reason == std::optional<std::string>{"by hand"}));
  BOOST_TEST(stored_status(tenant_key) == "revoked");
  // A revoked key is never a candidate: the tenant's load leaves it out.
  auto loaded = keys::sealed_key_rows(run(keys::tenant_keys(tenant_id)).results[0]);
  BOOST_REQUIRE_EQUAL(loaded.size(), 1u);
  BOOST_TEST(loaded.front().key.id == personal_key);
}

BOOST_AUTO_TEST_CASE(replacing_a_failed_key_makes_it_active) {
  run(keys::set_status(tenant_id, tenant_key, key_status::invalid, "http 401", 0));
  auto replaced = keys::key_rows(
      run(keys::replace_secret(tenant_id, tenant_key, owner_id, sealed, "wxyz", "renamed"))
          .results[0]);
  BOOST_REQUIRE_EQUAL(replaced.size(), 1u);
  BOOST_TEST((replaced.front().status == key_status::active));
  BOOST_TEST(!replaced.front().status_reason.has_value());
  BOOST_TEST(replaced.front().name == "renamed");
  BOOST_TEST(replaced.front().hint == "wxyz");
}

BOOST_AUTO_TEST_CASE(rotation_reads_and_reseals_only_older_versions) {
  BOOST_TEST(storage::count_of(run(keys::count_all()).results[0]) == 2);
  auto stale = keys::stale_key_rows(run(keys::sealed_before(2, 200)).results[0]);
  BOOST_REQUIRE_EQUAL(stale.size(), 2u);
  BOOST_TEST(stale.front().tenant_id == tenant_id);
  security::sealed_secret fresh{"cipher-2", "nonce-2-12by", 2};
  // A key whose secret changed since it was read is left alone.
  BOOST_TEST(run(keys::reseal(tenant_id, stale[0].id, fresh, 0)).results[0].affected == 0);
  BOOST_TEST(run(keys::reseal(tenant_id, stale[0].id, fresh, 1)).results[0].affected == 1);
  BOOST_TEST(keys::stale_key_rows(run(keys::sealed_before(2, 200)).results[0]).size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
