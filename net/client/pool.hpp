#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "net/client/connection.hpp"

namespace nyxgate::net::detail {

/// Enough idle connections to carry a busy gateway's concurrency without new handshakes.
constexpr std::size_t max_idle_per_upstream = 256;
constexpr std::chrono::seconds idle_expiry{30};

/// Idle keep-alive connections per upstream ("https://host:port") of one io_context: at most a
/// few each, the most recently used first, dropped after `idle_expiry` (checked on every take
/// and put). Used only on its io_context's thread (connections are bound to it): no lock.
class connection_pool {
 public:
  std::shared_ptr<connection> take(const std::string& key) {
    evict_expired(clock::now());
    auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    auto conn = std::move(it->second.back().conn);
    it->second.pop_back();
    if (it->second.empty()) idle_.erase(it);
    return conn;
  }

  void put(const std::string& key, std::shared_ptr<connection> conn) {
    auto now = clock::now();
    evict_expired(now);
    auto& list = idle_[key];
    if (list.size() >= max_idle_per_upstream) list.pop_front();
    list.push_back({std::move(conn), now});
  }

  std::size_t size() const {
    auto now = clock::now();
    std::size_t n = 0;
    for (const auto& [key, list] : idle_)
      for (const auto& entry : list)
        if (now - entry.since < idle_expiry) ++n;
    return n;
  }

 private:
  struct idle_connection {
    std::shared_ptr<connection> conn;
    clock::time_point since;
  };

  void evict_expired(clock::time_point now) {
    for (auto it = idle_.begin(); it != idle_.end();) {
      auto& list = it->second;
      while (!list.empty() && now - list.front().since >= idle_expiry) list.pop_front();
      it = list.empty() ? idle_.erase(it) : std::next(it);
    }
  }

  std::map<std::string, std::deque<idle_connection>> idle_;
};

}  // namespace nyxgate::net::detail
