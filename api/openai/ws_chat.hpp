#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include "net/http/types.hpp"

namespace boost::asio {
class io_context;
}
namespace caf {
class actor_system;
}
namespace nyxgate::identity {
class authenticator;
struct principal;
struct token_digest;
}  // namespace nyxgate::identity
namespace nyxgate::actors {
struct gateway_services;
}

namespace nyxgate::storage {
class database;
}

namespace nyxgate::api {

class progress_hub;

struct ws_chat_options {
  std::size_t max_streams = 16;  ///< concurrent chat streams per socket
  int max_json_depth = 64;
};

/// What a WebSocket chat endpoint needs from the node; shared by every socket.
struct ws_chat_context {
  boost::asio::io_context* io = nullptr;
  identity::authenticator* auth = nullptr;
  caf::actor_system* sys = nullptr;
  std::shared_ptr<const actors::gateway_services> services;
  ws_chat_options options;
  /// For `pipeline.subscribe`; without them the socket refuses it.
  storage::database* db = nullptr;
  progress_hub* progress = nullptr;
};

/// The protocol of `GET /v1/ws` (SPEC §4) for one socket: `auth`, `chat.create`, `cancel`,
/// `ping` in; `meta`, `delta`, `done`, `error`, `pong` out; and `pipeline.subscribe {runId}`
/// in, `pipeline.progress {run}` out at every change of the run until it ends (docs/
/// workflows.md). `who` (with its `token`) is set
/// when the upgrade request carried a valid Authorization header; otherwise the first message
/// must be `auth`. Every `chat.create` checks the token again (from the cache, as a request
/// does): once it is revoked or its member removed, the socket is closed with 1008.
std::shared_ptr<net::ws_endpoint> make_ws_chat(std::shared_ptr<const ws_chat_context> context,
                                               std::optional<identity::principal> who,
                                               std::optional<identity::token_digest> token);

}  // namespace nyxgate::api
