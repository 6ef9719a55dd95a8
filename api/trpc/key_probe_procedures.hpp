#pragma once

#include <memory>
#include <string>

#include "api/trpc/key_access.hpp"
#include "api/trpc/router.hpp"

namespace nyxgate::api {

struct probe_settings {
  std::string openai, anthropic, google, kimi, github;  ///< provider base URLs
  std::int64_t key_cooldown_s = 300;
};

/// apiKeys.test (the provider's cheapest authenticated call; updates the key's health) and
/// github.viewer (the GitHub user behind the resolved GitHub token).
void add_key_probe_procedures(trpc_router& router, key_access keys,
                              std::shared_ptr<net::https_client> client, probe_settings settings);

}  // namespace nyxgate::api
