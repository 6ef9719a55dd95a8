#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"

namespace nyxgate::net {
class https_client;
}

namespace nyxgate::actors {

struct provider_endpoint {
  std::string provider;  ///< openai | anthropic | google | kimi
  std::string base_url;
  std::shared_ptr<net::https_client> client;  ///< this upstream's connection pool
  std::size_t max_response_bytes = 8 << 20;
};

provider_actor spawn_provider_actor(caf::actor_system& sys, provider_endpoint endpoint);

/// The provider actors of a node, one per chat provider; fixed after start, read freely.
class provider_directory {
 public:
  void add(const std::string& provider, provider_actor actor) { actors_.emplace(provider, actor); }
  const provider_actor* find(std::string_view provider) const {
    auto it = actors_.find(provider);
    return it == actors_.end() ? nullptr : &it->second;
  }
  void stop_all();

 private:
  std::map<std::string, provider_actor, std::less<>> actors_;
};

}  // namespace nyxgate::actors
