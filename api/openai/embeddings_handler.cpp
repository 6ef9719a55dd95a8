#include "api/openai/embeddings_handler.hpp"

#include "actors/request_actor.hpp"
#include "api/openai/errors.hpp"
#include "api/openai/http_sink.hpp"
#include "providers/chat.hpp"
#include "runtime/io_runtime.hpp"

namespace nyxgate::api {

void start_embeddings(caf::actor_system& sys,
                      std::shared_ptr<const actors::gateway_services> services,
                      identity::principal who, net::http_request request, net::respond_fn respond) {
  if (auto refused = non_json_body(request)) return respond(std::move(*refused));
  auto parsed = providers::parse_embedding_request(request.body);
  if (auto* e = std::get_if<providers::request_error>(&parsed))
    return respond(data_plane_error(400, "invalid_request_error", e->code, e->message, e->param));
  auto embedding = std::make_shared<const providers::embedding_request>(
      std::get<providers::embedding_request>(std::move(parsed)));
  // The chain resolves the model as a chat call's would; the request actor then makes it an
  // embeddings chain.
  auto req = std::make_shared<providers::chat_request>();
  req->model = embedding->model;
  req->embedding = embedding;
  actors::chat_call call;
  call.tenant_id = std::move(who.tenant_id);
  call.user_id = std::move(who.user_id);
  call.request_id = request.request_id;
  call.request = std::move(req);
  call.received_at = request.received_at;
  http_sink::options opts{call.request_id};
  opts.base64 = embedding->base64;
  call.sink =
      std::make_shared<http_sink>(std::move(respond), std::move(request.disconnected), opts);
  call.home = runtime::current_context();
  actors::spawn_request_actor(sys, std::move(services), std::move(call));
}

}  // namespace nyxgate::api
