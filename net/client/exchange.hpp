#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "net/client/https_client.hpp"
#include "net/client/pool.hpp"

namespace nyxgate::net::detail {

/// What the exchanges of one io_context share: its thread, the client's TLS settings and the
/// io_context's pool (used on that thread only).
struct exchange_site {
  asio::io_context& io;
  std::shared_ptr<ssl::context> tls;
  bool verify = true;
  std::shared_ptr<connection_pool> pool;
};

/// Runs one exchange on `site`, its answer read whole; `done` runs once, on the site's thread.
void send_whole(const exchange_site& site, outbound_request req,
                std::function<void(outbound_response)> done);

/// Runs one exchange on `site`, its answer streamed to `handlers` (see https_client).
std::shared_ptr<outbound_stream> open_streamed(const exchange_site& site, outbound_request req,
                                               std::chrono::milliseconds idle_timeout,
                                               stream_handlers handlers);

}  // namespace nyxgate::net::detail
