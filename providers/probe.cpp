#include "providers/probe.hpp"

#include "providers/adapter.hpp"
#include "providers/registry.hpp"

namespace nyxgate::providers {

probe_request key_probe(std::string_view provider, std::string_view base_url,
                        std::string_view secret) {
  const auto* p = find_provider(provider);
  const key_prober& prober = p && p->probe ? *p->probe : openai_adapter();
  auto r = prober.request(base_url, secret);
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
  if (status == 400)
    if (const auto* p = find_provider(provider); p && p->probe)
      if (auto verdict = p->probe->on_bad_request(body)) return *verdict;
  if (status >= 500)
    return {std::nullopt, "provider error (" + std::to_string(status) + "); key status unchanged"};
  return {std::nullopt, "unexpected answer (" + std::to_string(status) + "); key status unchanged"};
}

}  // namespace nyxgate::providers
