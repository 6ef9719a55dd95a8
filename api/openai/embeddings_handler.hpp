#pragma once

#include <memory>

#include "identity/authenticator.hpp"
#include "net/http/types.hpp"

namespace caf {
class actor_system;
}
namespace nyxgate::actors {
struct gateway_services;
}

namespace nyxgate::api {

/// POST /v1/embeddings once the caller is known: validates the body (docs/embeddings.md) and
/// hands the call to its request actor, which answers through an `http_sink`.
void start_embeddings(caf::actor_system& sys,
                      std::shared_ptr<const actors::gateway_services> services,
                      identity::principal who, net::http_request request, net::respond_fn respond);

}  // namespace nyxgate::api
