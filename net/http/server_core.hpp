#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>

#include "net/http/server.hpp"
#include "net/http/types.hpp"

namespace nyxgate::net::detail {

/// A client connection as the listener sees it at shutdown: an HTTP session or a WebSocket.
class server_connection {
 public:
  virtual ~server_connection() = default;
  /// Shutdown began: idle connections close now, busy ones once their work is done.
  virtual void drain() = 0;
  /// The grace period is over.
  virtual void force_close() = 0;
};

/// What connections share with the listener: limits, handler, and the set of live ones.
struct server_core {
  server_limits limits;
  http_handler handler;
  request_id_fn new_request_id = nullptr;
  std::atomic<std::size_t> open{0};
  std::atomic<bool> draining{false};
  std::mutex mutex;
  std::list<std::weak_ptr<server_connection>> connections;
  std::uint64_t added = 0;  ///< guarded by `mutex`

  /// Registers a live connection; every 256th also forgets the ones that have ended.
  void add(const std::shared_ptr<server_connection>& c) {
    std::lock_guard lock(mutex);
    if (++added % 256 == 0)
      connections.remove_if([](const std::weak_ptr<server_connection>& w) { return w.expired(); });
    connections.push_back(c);
  }
};

}  // namespace nyxgate::net::detail
