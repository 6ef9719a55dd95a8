#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/circuit.hpp"
#include "actors/interfaces.hpp"
#include "actors/upstream.hpp"

namespace boost::asio {
class io_context;
}

namespace nyxgate::actors {

/// What one provider actor runs on: its provider, its shard's connections and the provider's
/// circuit (one for all of the provider's actors).
struct provider_endpoint {
  std::string provider;  ///< openai | anthropic | google | kimi
  std::string base_url;
  upstream_pool_ptr pool;  ///< this actor's shard's connections; used from its exchanges only
  std::shared_ptr<circuit_breaker> circuit;
  std::size_t max_response_bytes = 8 << 20;
};

provider_actor spawn_provider_actor(caf::actor_system& sys, provider_endpoint endpoint);

/// The provider actors of a node: per chat provider one actor per I/O shard, so a call's
/// attempt is translated on its own shard and never waits behind another shard's calls in a
/// shared mailbox. Fixed after start, read freely.
class provider_directory {
 public:
  /// The actor for `provider` serving the calls of `shard` (null: any shard).
  void add(const std::string& provider, provider_actor actor,
           const boost::asio::io_context* shard = nullptr) {
    actors_[provider].emplace_back(shard, std::move(actor));
  }

  /// The actor of `home`'s shard, else the provider's first one; null for an unknown provider.
  const provider_actor* find(std::string_view provider,
                             const boost::asio::io_context* home = nullptr) const {
    auto it = actors_.find(provider);
    if (it == actors_.end() || it->second.empty()) return nullptr;
    for (const auto& [shard, actor] : it->second)
      if (shard == home) return &actor;
    return &it->second.front().second;
  }

  void stop_all();

 private:
  std::map<std::string, std::vector<std::pair<const boost::asio::io_context*, provider_actor>>,
           std::less<>>
      actors_;
};

}  // namespace nyxgate::actors
