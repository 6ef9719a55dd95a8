// apiKeys.*, llmDefaults.*, providers.resolve against the real database and tenant actors:
// permissions, visibility, secrets never shown, cross-tenant NOT_FOUND, resolution from
// memory, and coherence between two nodes.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "security/key_vault.hpp"
#include "telemetry/metrics.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/integration/pg_fixture.hpp"

namespace json = boost::json;
using nyxgate::testing::http_reply;
using nyxgate::testing::node_fixture;

namespace {

std::string code_of(const http_reply& r) {
  const auto* e = r.body.is_object() ? r.body.as_object().if_contains("error") : nullptr;
  return e ? std::string{e->at("data").at("code").as_string()} : "";
}
const json::value& data(const http_reply& r) {
  return r.body.at("result").at("data");
}
std::string str(const json::value& v, std::string_view k) {
  return std::string{v.at(k).as_string()};
}

constexpr const char* tenant_openai = "sk-tenant-openai-SECRET-0001";
constexpr const char* member_openai = "sk-member-openai-SECRET-0002";
constexpr const char* owner_anthropic = "sk-ant-owner-SECRET-0003";

struct keyed_tenants : node_fixture {
  std::string owner = seed_tenant("acme", "owner@acme.test");
  std::string member = add_user_with_token("acme", "member@acme.test", "member");
  std::string other_member = add_user_with_token("acme", "other@acme.test", "member");
  std::string owner_b = seed_tenant("globex", "owner@globex.test");

  std::string create(const std::string& token, const std::string& provider, const std::string& key,
                     bool personal) {
    auto r = mutate("apiKeys.create", token,
                    R"({"provider":")" + provider + R"(","name":"k","key":")" + key +
                        R"(","isPersonal":)" + (personal ? "true" : "false") + "}");
    BOOST_REQUIRE_MESSAGE(r.status == 200u, r.raw);
    return str(data(r), "id");
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(key_procedures_test, keyed_tenants)

BOOST_AUTO_TEST_CASE(tenant_keys_need_admin_personal_keys_any_member) {
  auto denied =
      mutate("apiKeys.create", member, R"({"provider":"openai","name":"k","key":"sk-0123456789"})");
  BOOST_TEST(denied.status == 403u);
  BOOST_TEST(code_of(denied) == "FORBIDDEN");
  auto personal =
      mutate("apiKeys.create", member,
             R"({"provider":"openai","name":"mine","key":"sk-0123456789","isPersonal":true})");
  BOOST_TEST(personal.status == 200u);
  BOOST_TEST(data(personal).at("isPersonal").as_bool());
  BOOST_TEST(str(data(personal), "hint") == "6789");
  BOOST_TEST(str(data(personal), "status") == "active");
  BOOST_TEST(personal.raw.find("sk-0123456789") == std::string::npos);
  // A userId in the input cannot bind the key to someone else: unknown keys are refused.
  auto smuggled = mutate(
      "apiKeys.create", member,
      R"({"provider":"openai","name":"x","key":"sk-0123456789","isPersonal":true,"userId":"00000000-0000-4000-8000-000000000000"})");
  BOOST_TEST(smuggled.status == 400u);
}

BOOST_AUTO_TEST_CASE(list_shows_tenant_keys_and_own_personal_keys_only) {
  create(owner, "openai", tenant_openai, false);
  create(member, "openai", member_openai, true);
  create(owner, "anthropic", owner_anthropic, true);
  auto as_member = query("apiKeys.list", member);
  BOOST_REQUIRE(as_member.status == 200u);
  BOOST_TEST(data(as_member).as_array().size() == 2u);
  auto as_other = query("apiKeys.list", other_member);
  BOOST_TEST(data(as_other).as_array().size() == 1u);  // only the tenant key
  auto as_owner = query("apiKeys.list", owner);
  BOOST_TEST(data(as_owner).as_array().size() == 2u);  // tenant key + own anthropic key
  BOOST_TEST(data(query("apiKeys.list", owner_b)).as_array().empty());
  for (const auto* r : {&as_member, &as_other, &as_owner})
    for (auto secret : {tenant_openai, member_openai, owner_anthropic})
      BOOST_TEST(r->raw.find(secret) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(secrets_are_stored_encrypted) {
  create(owner, "openai", tenant_openai, false);
  auto rows = nyxgate::testing::sql(conninfo(),
                                    "SELECT encode(secret_ciphertext, 'escape'), key_version, hint "
                                    "FROM api_keys");
  BOOST_REQUIRE(rows.size() == 1u);
  BOOST_TEST(rows[0][0].find("SECRET") == std::string::npos);
  BOOST_TEST(rows[0][1] == "1");
  BOOST_TEST(rows[0][2] == "0001");
}

BOOST_AUTO_TEST_CASE(delete_and_replace_rules) {
  auto tenant_key = create(owner, "openai", tenant_openai, false);
  auto member_key = create(member, "openai", member_openai, true);
  auto id = [](const std::string& k) { return R"({"id":")" + k + R"("})"; };
  // Another member's personal key is invisible: NOT_FOUND, like a missing id.
  BOOST_TEST(mutate("apiKeys.delete", other_member, id(member_key)).status == 404u);
  BOOST_TEST(mutate("apiKeys.delete", owner, id(member_key)).status == 404u);
  BOOST_TEST(mutate("apiKeys.delete", member, id(tenant_key)).status == 403u);
  auto replaced = mutate("apiKeys.replace", member,
                         R"({"id":")" + member_key + R"(","key":"sk-member-new-key-9999"})");
  BOOST_TEST(replaced.status == 200u);
  BOOST_TEST(str(data(replaced), "hint") == "9999");
  BOOST_TEST(mutate("apiKeys.delete", member, id(member_key)).status == 200u);
  BOOST_TEST(mutate("apiKeys.delete", member, id(member_key)).status == 404u);
  BOOST_TEST(mutate("apiKeys.delete", owner, id(tenant_key)).status == 200u);
}

BOOST_AUTO_TEST_CASE(keys_with_control_characters_or_whitespace_are_refused) {
  auto key_id = create(owner, "openai", tenant_openai, false);
  // JSON escapes for: SOH, tab, space, LF, CR, DEL, NUL-free ESC, NBSP, a trailing space.
  const std::string bad[] = {
      R"(sk-abc\u0001defgh)",  R"(sk-abc\tdefgh)",     R"(sk-abc defgh)",
      R"(sk-abcdefgh\n)",      R"(sk-abc\rdefgh)",     R"(sk-abc\u007fdefgh)",
      R"(sk-\u001b[31mdefgh)", R"(sk-abc\u00a0defgh)", R"(sk-abcdefgh )"};
  for (const auto& key : bad) {
    BOOST_TEST_CONTEXT(key) {
      auto created = mutate("apiKeys.create", owner,
                            R"({"provider":"openai","name":"k","key":")" + key + R"("})");
      BOOST_TEST(created.status == 400u);
      BOOST_TEST(code_of(created) == "BAD_REQUEST");
      BOOST_TEST(created.raw.find("input.key") != std::string::npos, created.raw);
      auto replaced =
          mutate("apiKeys.replace", owner, R"({"id":")" + key_id + R"(","key":")" + key + R"("})");
      BOOST_TEST(replaced.status == 400u);
      BOOST_TEST(code_of(replaced) == "BAD_REQUEST");
      BOOST_TEST(replaced.raw.find("input.key") != std::string::npos, replaced.raw);
    }
  }
  auto rows = nyxgate::testing::sql(conninfo(), "SELECT count(*), min(hint) FROM api_keys");
  BOOST_TEST(rows.at(0).at(0) == "1");
  BOOST_TEST(rows.at(0).at(1) == std::string{tenant_openai}.substr(24));
}

BOOST_AUTO_TEST_CASE(a_key_that_cannot_go_into_a_header_fails_locally_once) {
  // A key written around the apiKeys checks (here: by hand) holds a control character. The
  // call must not send it, retry it, or hold it against the key.
  auto id = create(owner, "openai", tenant_openai, false);
  auto tenant_id = str(data(query("tenants.current", owner)), "id");
  auto vault = nyxgate::security::key_vault::load(master_key_file());
  auto sealed = vault.seal(std::string{"sk-bad\x01"} + "key-0001", tenant_id + ":" + id);
  nyxgate::testing::sql(conninfo(),
                        "UPDATE api_keys SET secret_ciphertext = decode('" +
                            nyxgate::security::to_hex(sealed.ciphertext) +
                            "', 'hex'), secret_nonce = decode('" +
                            nyxgate::security::to_hex(sealed.nonce) + "', 'hex'), key_version = " +
                            std::to_string(sealed.key_version) + " WHERE id = '" + id + "'");
  // Any keys or defaults write reloads the tenant's keys before it answers.
  BOOST_REQUIRE(mutate("llmDefaults.update", owner, R"({"maxTokens":1000})").status == 200u);
  auto r = request("POST", "/v1/chat/completions", owner,
                   R"({"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})");
  BOOST_TEST(r.status == 502u, r.raw);
  const auto& attempts = r.body.at("error").at("attempts").as_array();
  BOOST_TEST(attempts.size() == 1u, r.raw);  // no retry
  BOOST_TEST(str(attempts.at(0), "reason").rfind("request:", 0) == 0u, r.raw);
  BOOST_TEST(r.raw.find("sk-bad") == std::string::npos);
  auto status = nyxgate::testing::sql(
      conninfo(),
      "SELECT status, coalesce(status_reason, '') FROM api_keys WHERE id = '" + id + "'");
  BOOST_TEST(status.at(0).at(0) == "active");
  BOOST_TEST(status.at(0).at(1) == "");
}

BOOST_AUTO_TEST_CASE(another_tenants_key_ids_answer_not_found) {
  auto key = create(owner, "openai", tenant_openai, false);
  BOOST_TEST(mutate("apiKeys.delete", owner_b, R"({"id":")" + key + R"("})").status == 404u);
  BOOST_TEST(
      mutate("apiKeys.replace", owner_b, R"({"id":")" + key + R"(","key":"sk-evil-000000000"})")
          .status == 404u);
  BOOST_TEST(query("providers.resolve", owner_b).raw.find(key) == std::string::npos);
  BOOST_TEST(data(query("apiKeys.list", owner)).as_array().size() == 1u);
}

BOOST_AUTO_TEST_CASE(resolve_prefers_personal_then_tenant_then_fallback) {
  BOOST_TEST(data(query("providers.resolve", member)).is_null());
  auto upd = mutate("llmDefaults.update", owner, R"({"primary":"openai","fallback":"anthropic"})");
  BOOST_REQUIRE(upd.status == 200u);
  auto anthropic_tenant = create(owner, "anthropic", "sk-ant-tenant-key-7777", false);
  auto via_fallback = data(query("providers.resolve", member));
  BOOST_TEST(str(via_fallback, "provider") == "anthropic");
  BOOST_TEST(via_fallback.at("viaFallback").as_bool());
  auto tenant_key = create(owner, "openai", tenant_openai, false);
  auto tenant_first = data(query("providers.resolve", member));
  BOOST_TEST(str(tenant_first, "keyId") == tenant_key);
  BOOST_TEST(str(tenant_first, "scope") == "tenant");
  BOOST_TEST(!tenant_first.at("viaFallback").as_bool());
  auto personal = create(member, "openai", member_openai, true);
  auto mine = data(query("providers.resolve", member));
  BOOST_TEST(str(mine, "keyId") == personal);
  BOOST_TEST(str(mine, "scope") == "personal");
  BOOST_TEST(str(mine, "hint") == "0002");
  // Another member never gets this member's personal key.
  BOOST_TEST(str(data(query("providers.resolve", other_member)), "keyId") == tenant_key);
  auto pinned = data(query("providers.resolve", member, R"({"provider":"anthropic"})"));
  BOOST_TEST(str(pinned, "keyId") == anthropic_tenant);
  BOOST_TEST(query("providers.resolve", member, R"({"model":"llama-3"})").status == 400u);
  auto strict = query("providers.resolve", member, R"({"provider":"google","strict":true})");
  BOOST_TEST(strict.status == 412u);
  BOOST_TEST(strict.raw.find("no_provider_key") != std::string::npos);
  BOOST_TEST(query("providers.resolve", member, R"({"strict":true})").status == 200u);
}

BOOST_AUTO_TEST_CASE(resolution_after_warm_up_makes_no_database_query) {
  create(owner, "openai", tenant_openai, false);
  BOOST_REQUIRE(query("providers.resolve", member).status == 200u);  // warms token cache too
  // Background work (the batched last_used_at flush, a listener's reload) may land in one
  // window; a query per call would show in every window, so the quietest of three must be 0.
  auto fewest = std::numeric_limits<std::int64_t>::max();
  for (int window = 0; window < 3 && fewest > 0; ++window) {
    auto before = nyxgate::telemetry::metrics().db_queries.value();
    for (int i = 0; i < 200; ++i) BOOST_REQUIRE(query("providers.resolve", member).status == 200u);
    fewest =
        std::min<std::int64_t>(fewest, nyxgate::telemetry::metrics().db_queries.value() - before);
  }
  BOOST_TEST(fewest == 0);
}

BOOST_AUTO_TEST_CASE(llm_defaults_get_update_and_permissions) {
  auto got = query("llmDefaults.get", member);
  BOOST_REQUIRE(got.status == 200u);
  BOOST_TEST(data(got).at("maxTokens").as_int64() == 16384);
  BOOST_TEST(mutate("llmDefaults.update", member, R"({"maxTokens":10})").status == 403u);
  auto bad = mutate("llmDefaults.update", owner, R"({"primary":"acme"})");
  BOOST_TEST(bad.status == 400u);
  BOOST_TEST(bad.raw.find("primary") != std::string::npos);
  auto bad_models = mutate("llmDefaults.update", owner, R"({"models":{"acme":"x"}})");
  BOOST_TEST(bad_models.status == 400u);
  auto ok = mutate(
      "llmDefaults.update", owner,
      R"({"primary":"google","fallback":"kimi","models":{"google":"gemini-2.5-pro"},"maxTokens":2048,"ethics":"be kind"})");
  BOOST_REQUIRE(ok.status == 200u);
  BOOST_TEST(str(data(ok), "primary") == "google");
  BOOST_TEST(str(data(ok).at("models"), "google") == "gemini-2.5-pro");
  BOOST_TEST(data(ok).at("maxTokens").as_int64() == 2048);
  auto cleared = mutate("llmDefaults.update", owner, R"({"fallback":null})");
  BOOST_TEST(data(cleared).at("fallback").is_null());
  BOOST_TEST(str(data(cleared), "primary") == "google");
  // The other tenant's defaults are untouched.
  BOOST_TEST(str(data(query("llmDefaults.get", owner_b)), "primary") == "openai");
}

BOOST_AUTO_TEST_CASE(a_tampered_ciphertext_is_never_used) {
  auto key = create(owner, "openai", tenant_openai, false);
  BOOST_TEST(str(data(query("providers.resolve", member)), "keyId") == key);
  nyxgate::testing::sql(conninfo(),
                        "UPDATE api_keys SET secret_ciphertext = set_byte(secret_ciphertext, 0, "
                        "get_byte(secret_ciphertext, 0) # 1)");
  // Any write reloads the tenant actor; the tampered key must drop out, not decrypt to garbage.
  BOOST_REQUIRE(mutate("llmDefaults.update", owner, R"({"ethics":"x"})").status == 200u);
  BOOST_TEST(data(query("providers.resolve", member)).is_null());
}

BOOST_AUTO_TEST_CASE(plaintext_keys_never_reach_the_log) {
  // Capture this process's stderr (where the JSON log goes) for the duration of the calls.
  auto path = nyxgate::testing::temp_dir() + "/stderr.log";
  int saved = ::dup(2);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::dup2(fd, 2);
  auto id = create(owner, "openai", tenant_openai, false);
  mutate("apiKeys.replace", owner, R"({"id":")" + id + R"(","key":"sk-replaced-SECRET-0004"})");
  query("providers.resolve", member);
  mutate("apiKeys.create", member,
         R"({"provider":"openai","name":"k","key":"sk-bad-SECRET","bogus":1})");
  ::fflush(stderr);
  ::dup2(saved, 2);
  ::close(fd);
  ::close(saved);
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  for (auto secret : {tenant_openai, "sk-replaced-SECRET-0004", "sk-bad-SECRET"})
    BOOST_TEST(all.str().find(secret) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_key_added_on_one_node_is_used_by_the_next_resolution_on_another) {
  node_fixture node_b(conninfo(), master_key_file());
  // Warm node B's tenant actor: no key yet.
  BOOST_TEST(data(node_b.query("providers.resolve", member)).is_null());
  auto started = std::chrono::steady_clock::now();
  auto key = create(owner, "openai", tenant_openai, false);
  auto created = std::chrono::steady_clock::now();
  std::string seen;
  for (int i = 0; i < 200 && seen.empty(); ++i) {
    auto r = node_b.query("providers.resolve", member);
    if (!data(r).is_null())
      seen = str(data(r), "keyId");
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto propagated = std::chrono::steady_clock::now();
  BOOST_TEST(seen == key);
  BOOST_TEST_MESSAGE(
      "cross-node propagation: "
      << std::chrono::duration_cast<std::chrono::microseconds>(propagated - created).count()
      << " us after the mutation returned ("
      << std::chrono::duration_cast<std::chrono::microseconds>(created - started).count()
      << " us mutation)");
}

BOOST_AUTO_TEST_SUITE_END()
