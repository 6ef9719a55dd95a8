// SPEC §3 resolution over every combination of key states, provider placement and caller.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>

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

/// The chain for `model` over `keys`, through an index built for the purpose.
chain build(const std::vector<key_record>& keys, const llm_defaults& d,
            const std::optional<std::string>& user, std::string_view model, std::int64_t at = now) {
  key_index index;
  index.build(keys);
  return build_chain(index, d, {user ? std::string_view{*user} : std::string_view{}, {}, model},
                     at);
}

/// `prefix` and `n` and, if given, `-` and `m` ("u7-2"), built by appending (GCC 12 at -O3 warns
/// wrongly about `"literal" + std::to_string(n)`).
std::string numbered(std::string_view prefix, int n, std::optional<int> m = std::nullopt) {
  std::string out{prefix};
  out += std::to_string(n);
  if (m) out.append("-").append(std::to_string(*m));
  return out;
}

std::string_view provider_of(std::string_view model) {
  const auto* p = provider_for_model(model);
  return p ? p->id : std::string_view{};
}

/// SPEC §3 keys_for, written out as the rule reads: a scan and a sort of every key.
std::vector<const key_record*> reference_keys_for(const std::vector<key_record>& keys,
                                                  const std::optional<std::string>& user,
                                                  std::string_view provider, std::int64_t at) {
  std::vector<const key_record*> personal, tenant;
  for (const auto& k : keys) {
    if (k.provider != provider || !usable(k, at)) continue;
    if (!k.personal())
      tenant.push_back(&k);
    else if (user && *k.user_id == *user)
      personal.push_back(&k);
  }
  auto newest = [](const key_record* a, const key_record* b) {
    return a->created_at != b->created_at ? a->created_at > b->created_at : a->id > b->id;
  };
  std::sort(personal.begin(), personal.end(), newest);
  std::sort(tenant.begin(), tenant.end(), newest);
  personal.insert(personal.end(), tenant.begin(), tenant.end());
  return personal;
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

  auto c = build(keys, d, user, "auto", now);
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
  auto c = build(keys, d, std::string{"u"}, "", now);
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
  auto c = build(keys, d, std::nullopt, "anthropic/claude-opus-4", now);
  BOOST_REQUIRE(c.elements.size() == 1u);
  BOOST_TEST(c.elements[0].provider == "anthropic");
  BOOST_TEST(c.elements[0].model == "claude-opus-4");
  BOOST_TEST(!c.elements[0].via_fallback);
  BOOST_TEST(build(keys, d, std::nullopt, "gpt-4.1", now).elements.at(0).provider == "openai");
  BOOST_TEST(build(keys, d, std::nullopt, "o3-mini", now).elements.at(0).provider == "openai");
  auto unknown = build(keys, d, std::nullopt, "llama-3", now);
  BOOST_REQUIRE(unknown.error.has_value());
  BOOST_TEST(unknown.error->code == "unknown_model");
  BOOST_TEST(build(keys, d, std::nullopt, "acme/x", now).error->code == "unknown_provider");
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
    auto c = build(keys, d, std::nullopt, "auto", now);
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
  BOOST_TEST(!build(keys, d, std::nullopt, "anthropic/claude-x", now).elements.at(0).via_fallback);
  BOOST_TEST(!build(keys, d, std::nullopt, "claude-x", now).elements.at(0).via_fallback);
}

BOOST_AUTO_TEST_CASE(prefixes_map_to_providers) {
  BOOST_TEST(provider_of("gpt-4o") == "openai");
  BOOST_TEST(provider_of("o1-preview") == "openai");
  BOOST_TEST(provider_of("o4-mini") == "openai");
  BOOST_TEST(provider_of("claude-3-5-haiku") == "anthropic");
  BOOST_TEST(provider_of("gemini-2.0-flash") == "google");
  BOOST_TEST(provider_of("moonshot-v1-8k") == "kimi");
  BOOST_TEST(provider_of("kimi-k2") == "kimi");
  BOOST_TEST(provider_of("mistral-large") == "");
}

/// Random key sets (providers, owners, states, ages with ties) against the rule written as a
/// scan and a sort: the index gives the same chain, element for element.
BOOST_AUTO_TEST_CASE(index_chain_equals_the_rule_on_random_key_sets) {
  std::mt19937 rng(7);
  const char* provider_ids[] = {"openai", "anthropic", "google", "kimi", "github"};
  const char* users[] = {"u1", "u2", "u3"};
  for (int round = 0; round < 300; ++round) {
    std::vector<key_record> keys;
    int n = static_cast<int>(rng() % 24);
    for (int i = 0; i < n; ++i) {
      auto state = static_cast<key_state>(1 + rng() % 4);
      std::optional<std::string> owner;
      if (rng() % 2) owner = users[rng() % 3];
      auto k = make_key(state, numbered("k", i), provider_ids[rng() % 5], owner);
      k->created_at = static_cast<std::int64_t>(rng() % 6);
      if (state == key_state::cooldown) k->cooldown_until = now - 5 + static_cast<int>(rng() % 10);
      keys.push_back(*k);
    }
    llm_defaults d;
    d.primary = provider_ids[rng() % 4];
    if (rng() % 3) d.fallback = provider_ids[rng() % 4];
    std::optional<std::string> user;
    if (rng() % 4) user = users[rng() % 3];
    for (const char* model : {"auto", "google/gemini-x", "claude-x"}) {
      auto c = build(keys, d, user, model);
      std::vector<std::pair<std::string, const key_record*>> expected;
      auto expect = [&](const std::string& provider) {
        for (const auto* k : reference_keys_for(keys, user, provider, now))
          expected.emplace_back(provider, k);
      };
      if (std::string_view{model} == "auto") {
        expect(d.primary);
        if (d.fallback && *d.fallback != d.primary) expect(*d.fallback);
      } else {
        expect(std::string{std::string_view{model} == "claude-x" ? "anthropic" : "google"});
      }
      BOOST_TEST_CONTEXT("round " << round << " model " << model) {
        BOOST_REQUIRE(c.elements.size() == expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
          BOOST_TEST(c.elements[i].provider == expected[i].first);
          BOOST_TEST(c.elements[i].key == expected[i].second);
          BOOST_TEST(c.elements[i].via_fallback ==
                     (std::string_view{model} == "auto" && expected[i].first != d.primary));
        }
      }
    }
  }
}

/// The index keeps a key in cooldown with the time it ends: it comes back without a rebuild.
BOOST_AUTO_TEST_CASE(a_cooldown_ends_without_a_new_index) {
  auto k = make_key(key_state::cooldown, "c", "openai", std::nullopt);
  std::vector<key_record> keys{*k, key("t", "openai", 0)};
  key_index index;
  index.build(keys);
  llm_defaults d;
  BOOST_TEST(build_chain(index, d, {}, now).elements.size() == 1u);
  auto later = build_chain(index, d, {}, now + 60);
  BOOST_REQUIRE(later.elements.size() == 2u);
  BOOST_TEST(later.elements[0].key->id == "c");  // created later than "t"
}

/// providers.resolve names a provider alone: its keys with its default model, no fallback.
BOOST_AUTO_TEST_CASE(a_named_provider_resolves_alone) {
  std::vector<key_record> keys{key("a", "anthropic"), key("g", "github"),
                               key("p", "anthropic", 1, std::string{"u"})};
  llm_defaults d;
  d.fallback = "anthropic";
  d.models["anthropic"] = "claude-opus-4";
  key_index index;
  index.build(keys);
  auto c = build_chain(index, d, {"u", "anthropic", "gpt-4o"}, now);
  BOOST_REQUIRE(c.elements.size() == 2u);
  BOOST_TEST(c.elements[0].key->id == "p");
  BOOST_TEST(c.elements[0].model == "claude-opus-4");
  BOOST_TEST(!c.elements[0].via_fallback);
  auto gh = build_chain(index, d, {"", "github", ""}, now);
  BOOST_REQUIRE(gh.elements.size() == 1u);
  BOOST_TEST(gh.elements[0].key->id == "g");
  BOOST_TEST(gh.elements[0].model == "");
  BOOST_TEST(build_chain(index, d, {"", "acme", ""}, now).elements.empty());
  // A chat call never reaches a provider without chat.
  BOOST_TEST(build_chain(index, d, {"", "", "github/x"}, now).error->code == "unknown_provider");
  d.primary = "github";
  d.fallback.reset();
  BOOST_TEST(build_chain(index, d, {"", "", "auto"}, now).elements.empty());
}

/// Many users' personal keys of one provider: each user finds only their own, newest first.
BOOST_AUTO_TEST_CASE(each_user_finds_only_their_own_personal_keys) {
  std::vector<key_record> keys;
  for (int u = 0; u < 50; ++u)
    for (int i = 0; i < 3; ++i)
      keys.push_back(key(numbered("u", u, i), "openai", i, numbered("user-", u)));
  keys.push_back(key("tenant", "openai", 100));
  key_index index;
  index.build(keys);
  llm_defaults d;
  for (int u : {0, 17, 49}) {
    auto user = numbered("user-", u);
    auto c = build_chain(index, d, {user, {}, "auto"}, now);
    BOOST_REQUIRE(c.elements.size() == 4u);
    for (int i = 0; i < 3; ++i) BOOST_TEST(c.elements[i].key->id == numbered("u", u, 2 - i));
    BOOST_TEST(c.elements[3].key->id == "tenant");
  }
  BOOST_TEST(build_chain(index, d, {"user-x", {}, "auto"}, now).elements.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
