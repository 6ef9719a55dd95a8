#pragma once

#include <functional>

#include "api/trpc/router.hpp"
#include "net/http/types.hpp"
#include "storage/database.hpp"

namespace boost::asio {
class io_context;
}

namespace nyxgate::api {

class data_plane;
namespace blog {
class blog_pages;
}

/// The server's entry point: operational endpoints and the tRPC control plane. Handlers that
/// wait on storage run as coroutines on a strand of the I/O context and answer via `respond`.
class router {
 public:
  /// `data` may be null (then /v1/ answers 404): tools and tests without the gateway; so may
  /// `blog` (then /b/ answers 404).
  router(boost::asio::io_context& io, storage::database& db, trpc_router& trpc,
         data_plane* data = nullptr, blog::blog_pages* blog = nullptr);

  /// /healthz answers 503 once `live` says false (a node that cannot recover by itself).
  void set_liveness(std::function<bool()> live) { live_ = std::move(live); }

  void handle(net::http_request request, net::respond_fn respond);
  net::http_handler handler() {
    return [this](net::http_request r, net::respond_fn f) { handle(std::move(r), std::move(f)); };
  }

  /// Answers an OpenAI-shaped error (used for paths the router does not know).
  static net::http_response error_response(unsigned status, std::string_view type,
                                           std::string_view code, std::string_view message);

 private:
  boost::asio::io_context& io_;
  storage::database& db_;
  trpc_router& trpc_;
  data_plane* data_;
  blog::blog_pages* blog_;
  std::function<bool()> live_;
};

}  // namespace nyxgate::api
