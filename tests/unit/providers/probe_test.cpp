#include <boost/test/unit_test.hpp>

#include "providers/probe.hpp"

using namespace nyxgate::providers;

BOOST_AUTO_TEST_SUITE(probe_test)

BOOST_AUTO_TEST_CASE(each_provider_uses_its_own_auth_header_and_endpoint) {
  auto o = key_probe("openai", "https://api.openai.com/", "sk-1");
  BOOST_TEST(o.url == "https://api.openai.com/v1/models");
  BOOST_TEST(o.headers.at(0).first == "authorization");
  BOOST_TEST(o.headers.at(0).second == "Bearer sk-1");
  auto a = key_probe("anthropic", "https://api.anthropic.com", "sk-ant");
  BOOST_TEST(a.url == "https://api.anthropic.com/v1/models?limit=1");
  BOOST_TEST(a.headers.at(0).first == "x-api-key");
  BOOST_TEST(a.headers.at(1).first == "anthropic-version");
  auto g = key_probe("google", "https://generativelanguage.googleapis.com", "AIza");
  BOOST_TEST(g.url == "https://generativelanguage.googleapis.com/v1beta/models?pageSize=1");
  BOOST_TEST(g.headers.at(0).first == "x-goog-api-key");
  BOOST_TEST(key_probe("kimi", "https://api.moonshot.ai", "k").url ==
             "https://api.moonshot.ai/v1/models");
  BOOST_TEST(key_probe("github", "https://api.github.com", "ghp").url ==
             "https://api.github.com/user");
}

BOOST_AUTO_TEST_CASE(answers_map_to_key_health) {
  BOOST_TEST((classify_probe("openai", 200, "{}", "").status == key_status::active));
  BOOST_TEST((classify_probe("openai", 401, "", "").status == key_status::invalid));
  BOOST_TEST((classify_probe("google", 403, "", "").status == key_status::invalid));
  BOOST_TEST((classify_probe("openai", 402, "", "").status == key_status::cooldown));
  BOOST_TEST(
      (classify_probe("openai", 429, R"({"error":{"code":"insufficient_quota"}})", "").status ==
       key_status::cooldown));
  BOOST_TEST(
      (classify_probe("openai", 429, R"({"error":{"code":"rate_limit_exceeded"}})", "").status ==
       std::nullopt));
  BOOST_TEST(
      (classify_probe("anthropic", 400,
                      R"({"error":{"message":"Your credit balance is too low to access"}})", "")
           .status == key_status::cooldown));
  BOOST_TEST((classify_probe("anthropic", 400, R"({"error":{"message":"bad"}})", "").status ==
              std::nullopt));
  BOOST_TEST((
      classify_probe(
          "google", 400,
          R"({"error":{"status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}})", "")
          .status == key_status::invalid));
  BOOST_TEST(
      (classify_probe("google", 400, R"({"error":{"status":"INVALID_ARGUMENT"}})", "").status ==
       std::nullopt));
  BOOST_TEST((classify_probe("openai", 503, "", "").status == std::nullopt));
  auto down = classify_probe("openai", 0, "", "timeout");
  BOOST_TEST((down.status == std::nullopt));
  BOOST_TEST(down.reason.find("timeout") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
