// The provider registry: one consistent entry per provider, and the lookups every other folder
// uses instead of naming providers.
#include <boost/test/unit_test.hpp>

#include <set>

#include "providers/adapter.hpp"
#include "providers/registry.hpp"
#include "providers/resolution.hpp"

using namespace nyxgate::providers;

BOOST_AUTO_TEST_SUITE(registry_test)

BOOST_AUTO_TEST_CASE(every_entry_is_complete_and_chat_providers_come_first) {
  std::set<std::string_view> ids;
  bool chat_ended = false;
  for (std::size_t i = 0; i < all_providers().size(); ++i) {
    const auto& p = all_providers()[i];
    BOOST_TEST_CONTEXT(p.id) {
      BOOST_TEST(ids.insert(p.id).second);
      BOOST_TEST(p.slot == i);
      BOOST_TEST(find_provider(p.id) == &p);
      BOOST_TEST(p.probe != nullptr);
      BOOST_TEST(!p.display_name.empty());
      if (!p.has_chat()) {
        chat_ended = true;
        BOOST_TEST(p.model_prefixes.empty());
        continue;
      }
      BOOST_TEST(!chat_ended);
      BOOST_TEST(valid_model_name(p.default_model));
      BOOST_TEST(!p.model_prefixes.empty());
      for (auto prefix : p.model_prefixes) BOOST_TEST(provider_for_model(prefix) == &p);
      BOOST_TEST(provider_for_model(p.default_model) == &p);
      BOOST_TEST(&chat_of(p.id) == p.chat);
    }
  }
  BOOST_TEST(chat_providers().size() == chat_provider_ids().size());
  BOOST_TEST(all_providers().size() == key_provider_ids().size());
}

BOOST_AUTO_TEST_CASE(lookups_answer_from_the_registry) {
  BOOST_TEST(is_chat_provider("kimi"));
  BOOST_TEST(!is_chat_provider("github"));
  BOOST_TEST(is_key_provider("github"));
  BOOST_TEST(!is_key_provider("mistral"));
  BOOST_TEST(find_provider("mistral") == nullptr);
  BOOST_TEST(builtin_default_model("anthropic") == "claude-sonnet-4-5");
  BOOST_TEST(builtin_default_model("github") == "");
  BOOST_TEST(chat_provider_list() == "openai, anthropic, google, kimi");
  BOOST_TEST(std::vector<std::string_view>(key_provider_ids().begin(), key_provider_ids().end()) ==
             (std::vector<std::string_view>{"openai", "anthropic", "google", "kimi", "github"}));
}

/// Kimi is OpenAI's adapter in another dialect, not a copy: the same wire, its own fields.
BOOST_AUTO_TEST_CASE(kimi_speaks_openai_in_its_own_dialect) {
  chat_request req;
  req.model = "kimi-k2";
  req.messages = {{"developer", "be brief", ""}, {"user", "hi", ""}};
  auto kimi = build_upstream_request("kimi", "https://kimi.test/", "sk-k", req, "kimi-k2", 64);
  auto openai = build_upstream_request("openai", "https://openai.test", "sk-o", req, "gpt-4o", 64);
  BOOST_TEST(kimi.url == "https://kimi.test/v1/chat/completions");
  BOOST_TEST(openai.url == "https://openai.test/v1/chat/completions");
  BOOST_TEST(kimi.body.find(R"("role":"system","content":"be brief")") != std::string::npos);
  BOOST_TEST(openai.body.find(R"("role":"developer")") != std::string::npos);
  BOOST_TEST(kimi.body.find(R"("max_tokens":64)") != std::string::npos);
  BOOST_TEST(openai.body.find(R"("max_completion_tokens":64)") != std::string::npos);
  BOOST_TEST((handling(chat_param::seed, "openai") == param_handling::forwarded));
  BOOST_TEST((handling(chat_param::seed, "kimi") == param_handling::refused));
  BOOST_TEST(key_probe("kimi", "https://kimi.test", "sk-k").url == "https://kimi.test/v1/models");
}

BOOST_AUTO_TEST_SUITE_END()
