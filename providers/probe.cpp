#include "providers/probe.hpp"

namespace nyxgate::providers {

probe_request key_probe(std::string_view provider, std::string_view base_url,
                        std::string_view secret) {
  probe_request r;
  std::string base{base_url};
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string key{secret};
  if (provider == "anthropic") {
    r.url = base + "/v1/models?limit=1";
    r.headers = {{"x-api-key", key}, {"anthropic-version", "2023-06-01"}};
  } else if (provider == "google") {
    r.url = base + "/v1beta/models?pageSize=1";
    r.headers = {{"x-goog-api-key", key}};
  } else if (provider == "github") {
    r.url = base + "/user";
    r.headers = {{"authorization", "Bearer " + key},
                 {"accept", "application/vnd.github+json"},
                 {"x-github-api-version", "2022-11-28"}};
  } else {  // openai, kimi: OpenAI-compatible
    r.url = base + "/v1/models";
    r.headers = {{"authorization", "Bearer " + key}};
  }
  r.headers.emplace_back("user-agent", "nyxgate");
  return r;
}

probe_verdict classify_probe(std::string_view provider, unsigned status, std::string_view body,
                             std::string_view transport_error) {
  if (status == 0)
    return {std::nullopt, "provider unreachable: " +
                              std::string{transport_error.empty() ? "no answer" : transport_error}};
  if (status >= 200 && status < 300) return {key_status::active, ""};
  if (status == 401 || status == 403)
    return {key_status::invalid, "provider rejected the key (" + std::to_string(status) + ")"};
  if (status == 402) return {key_status::cooldown, "payment required (402)"};
  if (status == 429) {
    // OpenAI says "insufficient_quota" for an exhausted balance; plain 429 is a rate limit.
    if (body.find("insufficient_quota") != std::string_view::npos)
      return {key_status::cooldown, "quota exhausted (429 insufficient_quota)"};
    return {std::nullopt, "rate limited (429); key status unchanged"};
  }
  if (status == 400 && provider == "anthropic" &&
      body.find("credit balance is too low") != std::string_view::npos)
    return {key_status::cooldown, "credit balance too low (400)"};
  // Google answers a bad key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
  if (status == 400 && provider == "google" &&
      body.find("API_KEY_INVALID") != std::string_view::npos)
    return {key_status::invalid, "provider rejected the key (400 API_KEY_INVALID)"};
  if (status >= 500)
    return {std::nullopt, "provider error (" + std::to_string(status) + "); key status unchanged"};
  return {std::nullopt, "unexpected answer (" + std::to_string(status) + "); key status unchanged"};
}

}  // namespace nyxgate::providers
