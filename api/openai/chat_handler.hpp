#pragma once

#include <memory>

#include "api/openai/ws_chat.hpp"
#include "net/http/types.hpp"

namespace boost::asio {
class io_context;
}
namespace caf {
class actor_system;
}
namespace nyxgate::identity {
class authenticator;
}
namespace nyxgate::actors {
struct gateway_services;
}

namespace nyxgate::api {

/// The OpenAI-compatible data plane (SPEC §4): authenticates, validates the body, and hands a
/// completion call to its request actor; lists the models a caller can use.
class data_plane {
 public:
  data_plane(boost::asio::io_context& io, identity::authenticator& auth, caf::actor_system& sys,
             std::shared_ptr<const actors::gateway_services> services,
             ws_chat_options ws_options = {}, storage::database* db = nullptr,
             progress_hub* progress = nullptr);

  /// POST /v1/chat/completions
  void chat_completions(net::http_request request, net::respond_fn respond);
  /// POST /v1/embeddings (docs/embeddings.md)
  void embeddings(net::http_request request, net::respond_fn respond);
  /// GET /v1/models
  void models(net::http_request request, net::respond_fn respond);
  /// GET /v1/ws: a WebSocket upgrade (authenticated now by header, or later by message).
  void websocket(net::http_request request, net::respond_fn respond);

 private:
  boost::asio::io_context& io_;
  identity::authenticator& auth_;
  caf::actor_system& sys_;
  std::shared_ptr<const actors::gateway_services> services_;
  std::shared_ptr<const ws_chat_context> ws_;
};

}  // namespace nyxgate::api
