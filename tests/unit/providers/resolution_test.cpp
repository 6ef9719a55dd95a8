// SPEC §3 resolution over every combination of key states, provider placement and caller.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "providers/resolution.hpp"

using namespace nyxgate::providers;
namespace bdata = boost::unit_test::data;

namespace {

constexpr std::int64_t now = 1'800'000'000;

enum class key_state { none, usable, cooldown, invalid, revoked };
constexpr const char* state_names[] = {"none", "usable", "cooldown", "invalid", "revoked"};
enum class caller { no_user, owner, other_member };
constexpr const char* caller_names[] = {"no_user", "owner", "other_member"};

std::optional<key_record> make_key(key_state s, std::string id, std::string provider,
                                   std::optional<std::string> user) {
  if (s == key_state::none) return std::nullopt;
  key_record k;
  k.id = std::move(id);
  k.provider = std::move(provider);
  k.user_id = std::move(user);
  k.created_at = 100;
  switch (s) {
    case key_state::usable:
      k.status = key_status::active;
      break;
    case key_state::cooldown:
      k.status = key_status::cooldown;
      k.cooldown_until = now + 60;
      break;
    case key_state::invalid:
      k.status = key_status::invalid;
      break;
    case key_state::revoked:
      k.status = key_status::revoked;
      break;
    case key_state::none:
      break;
  }
  return k;
}

key_record key(std::string id, std::string provider, std::int64_t created = 0,
               std::optional<std::string> user = std::nullopt) {
  key_record k;
  k.id = std::move(id);
  k.provider = std::move(provider);
  k.created_at = created;
  k.user_id = std::move(user);
  return k;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(resolution_test)

/// 5 personal states x 5 tenant states x {keys on primary, keys on fallback} x 3 callers.
BOOST_DATA_TEST_CASE(first_chain_element_for_every_combination,
                     bdata::xrange(5) * bdata::xrange(5) * bdata::xrange(2) * bdata::xrange(3),
                     personal_i, tenant_i, on_fallback_i, caller_i) {
  auto personal = static_cast<key_state>(personal_i);
  auto tenant = static_cast<key_state>(tenant_i);
  bool on_fallback = on_fallback_i == 1;
  auto who = static_cast<caller>(caller_i);
  llm_defaults d;
  d.primary = "openai";
  d.fallback = "anthropic";
  std::string provider = on_fallback ? "anthropic" : "openai";

  std::vector<key_record> keys;
  if (auto k = make_key(personal, "personal-1", provider, std::string{"u-owner"}))
    keys.push_back(*k);
  if (auto k = make_key(tenant, "tenant-1", provider, std::nullopt)) keys.push_back(*k);
  std::optional<std::string> user;
  if (who == caller::owner) user = "u-owner";
  if (who == caller::other_member) user = "u-other";

  // The rule, stated independently of the implementation: the owner's usable personal key
  // wins; otherwise a usable tenant key; otherwise nothing. Placement decides viaFallback.
  std::string expect_key, expect_scope;
  if (who == caller::owner && personal == key_state::usable) {
    expect_key = "personal-1";
    expect_scope = "personal";
  } else if (tenant == key_state::usable) {
    expect_key = "tenant-1";
    expect_scope = "tenant";
  }

  auto c = build_chain(keys, d, user, "auto", now);
  BOOST_TEST_CONTEXT("personal=" << state_names[personal_i] << " tenant=" << state_names[tenant_i]
                                 << " on=" << provider << " caller=" << caller_names[caller_i]) {
    BOOST_TEST(!c.error.has_value());
    if (expect_key.empty()) {
      BOOST_TEST(c.elements.empty());
    } else {
      BOOST_REQUIRE(!c.elements.empty());
      BOOST_TEST(c.elements[0].key->id == expect_key);
      BOOST_TEST(c.elements[0].provider == provider);
      BOOST_TEST(std::string{c.elements[0].scope()} == expect_scope);
      BOOST_TEST(c.elements[0].via_fallback == on_fallback);
      // Another user's personal key is never anywhere in the chain.
      for (const auto& e : c.elements) BOOST_TEST(!(e.key->personal() && who != caller::owner));
    }
  }
}

BOOST_AUTO_TEST_CASE(expired_cooldown_is_usable_again) {
  key_record k;
  k.id = "k";
  k.provider = "openai";
  k.status = key_status::cooldown;
  k.cooldown_until = now - 1;
  BOOST_TEST(usable(k, now));
  k.cooldown_until = now + 1;
  BOOST_TEST(!usable(k, now));
}

BOOST_AUTO_TEST_CASE(newest_first_personal_before_tenant_then_fallback) {
  std::vector<key_record> keys{key("t-old", "openai", 1), key("t-new", "openai", 5),
                               key("p", "openai", 0, std::string{"u"}), key("fb", "google", 9)};
  llm_defaults d;
  d.fallback = "google";
  d.models["google"] = "gemini-2.5-pro";
  auto c = build_chain(keys, d, std::string{"u"}, "", now);
  BOOST_REQUIRE(c.elements.size() == 4u);
  BOOST_TEST(c.elements[0].key->id == "p");
  BOOST_TEST(c.elements[1].key->id == "t-new");
  BOOST_TEST(c.elements[2].key->id == "t-old");
  BOOST_TEST(c.elements[3].key->id == "fb");
  BOOST_TEST(c.elements[3].via_fallback);
  BOOST_TEST(c.elements[3].model == "gemini-2.5-pro");
  BOOST_TEST(c.elements[0].model == "gpt-4o-mini");
}

BOOST_AUTO_TEST_CASE(explicit_models_pin_one_provider) {
  std::vector<key_record> keys{key("o", "openai"), key("a", "anthropic")};
  llm_defaults d;
  d.fallback = "anthropic";
  auto c = build_chain(keys, d, std::nullopt, "anthropic/claude-opus-4", now);
  BOOST_REQUIRE(c.elements.size() == 1u);
  BOOST_TEST(c.elements[0].provider == "anthropic");
  BOOST_TEST(c.elements[0].model == "claude-opus-4");
  BOOST_TEST(!c.elements[0].via_fallback);
  BOOST_TEST(build_chain(keys, d, std::nullopt, "gpt-4.1", now).elements.at(0).provider ==
             "openai");
  BOOST_TEST(build_chain(keys, d, std::nullopt, "o3-mini", now).elements.at(0).provider ==
             "openai");
  auto unknown = build_chain(keys, d, std::nullopt, "llama-3", now);
  BOOST_REQUIRE(unknown.error.has_value());
  BOOST_TEST(unknown.error->code == "unknown_model");
  BOOST_TEST(build_chain(keys, d, std::nullopt, "acme/x", now).error->code == "unknown_provider");
}

BOOST_AUTO_TEST_CASE(model_names_are_a_strict_set_of_characters) {
  for (const char* ok :
       {"auto", "gpt-4o-mini", "google/gemini-2.5-flash", "o3", "kimi-k2-0905-preview",
        "openai/ft:gpt-4o-mini:acme:custom:9aBc", "claude-3-5-sonnet_20240620"})
    BOOST_TEST(valid_model_name(ok), ok);
  for (const char* bad : {"", "google/..", "..", ".x", "-x", "google/", "/x", "a/b/c", "a b", "a?b",
                          "a#b", "a%2F", "a\\b", "a@b", "gemini\n", "\xc3\xa9"})
    BOOST_TEST(!valid_model_name(bad), bad);
  BOOST_TEST(valid_model_name(std::string(128, 'a')));
  BOOST_TEST(!valid_model_name(std::string(129, 'a')));
}

/// Fallback means "not the tenant's primary in an auto chain": a primary without a usable key
/// (none, invalid, cooling down) leaves a chain of fallback elements only, and says so.
BOOST_AUTO_TEST_CASE(a_chain_without_primary_keys_is_all_fallback) {
  llm_defaults d;
  d.primary = "openai";
  d.fallback = "anthropic";
  for (auto state :
       {key_state::none, key_state::invalid, key_state::cooldown, key_state::revoked}) {
    std::vector<key_record> keys{key("a1", "anthropic", 2), key("a2", "anthropic", 1)};
    if (auto k = make_key(state, "o", "openai", std::nullopt)) keys.push_back(*k);
    auto c = build_chain(keys, d, std::nullopt, "auto", now);
    BOOST_TEST_CONTEXT(state_names[static_cast<int>(state)]) {
      BOOST_REQUIRE(c.elements.size() == 2u);
      for (const auto& e : c.elements) {
        BOOST_TEST(e.provider == "anthropic");
        BOOST_TEST(e.via_fallback);
      }
    }
  }
  // Named outright, the same provider is no fallback.
  std::vector<key_record> keys{key("a1", "anthropic")};
  BOOST_TEST(
      !build_chain(keys, d, std::nullopt, "anthropic/claude-x", now).elements.at(0).via_fallback);
  BOOST_TEST(!build_chain(keys, d, std::nullopt, "claude-x", now).elements.at(0).via_fallback);
}

BOOST_AUTO_TEST_CASE(prefixes_map_to_providers) {
  BOOST_TEST(provider_for_model("gpt-4o") == "openai");
  BOOST_TEST(provider_for_model("o1-preview") == "openai");
  BOOST_TEST(provider_for_model("o4-mini") == "openai");
  BOOST_TEST(provider_for_model("claude-3-5-haiku") == "anthropic");
  BOOST_TEST(provider_for_model("gemini-2.0-flash") == "google");
  BOOST_TEST(provider_for_model("moonshot-v1-8k") == "kimi");
  BOOST_TEST(provider_for_model("kimi-k2") == "kimi");
  BOOST_TEST(provider_for_model("mistral-large") == "");
}

BOOST_AUTO_TEST_SUITE_END()
