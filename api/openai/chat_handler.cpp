#include "api/openai/chat_handler.hpp"

#include <algorithm>
#include <cctype>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json.hpp>
#include <caf/send.hpp>

#include "actors/request_actor.hpp"
#include "actors/tenant_actor.hpp"
#include "api/openai/embeddings_handler.hpp"
#include "api/openai/errors.hpp"
#include "api/openai/http_sink.hpp"
#include "api/tenant_calls.hpp"
#include "identity/authenticator.hpp"
#include "providers/chat.hpp"
#include "runtime/io_runtime.hpp"
#include "telemetry/metrics.hpp"

namespace nyxgate::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

/// OpenAI's answers to a missing or bad key, so SDKs raise their AuthenticationError.
std::optional<net::http_response> auth_failure(identity::auth_status status) {
  switch (status) {
    case identity::auth_status::ok:
      return std::nullopt;
    case identity::auth_status::missing:
      return data_plane_error(401, "invalid_request_error", "missing_api_key",
                              "missing bearer token (Authorization: Bearer ngt_...)");
    case identity::auth_status::unavailable:
      return data_plane_error(503, "server_error", "auth_unavailable",
                              "authentication is temporarily unavailable");
    case identity::auth_status::invalid:
      break;
  }
  return data_plane_error(401, "invalid_request_error", "invalid_api_key",
                          "invalid or revoked token");
}

/// The caller, or nothing once an error answer went out.
asio::awaitable<std::optional<identity::principal>> authenticated(identity::authenticator& auth,
                                                                  const net::http_request& request,
                                                                  const net::respond_fn& respond) {
  auto who = co_await auth.authenticate(request.header("authorization"));
  if (auto failed = auth_failure(who.status)) {
    respond(std::move(*failed));
    co_return std::nullopt;
  }
  co_return std::move(who.who);
}

/// Everything after authentication: synchronous, so a call with a cached token runs from the
/// session's handler straight into its request actor.
void start_chat(caf::actor_system& sys, std::shared_ptr<const actors::gateway_services> services,
                identity::principal who, net::http_request request, net::respond_fn respond) {
  if (auto refused = non_json_body(request)) return respond(std::move(*refused));
  auto parsed = providers::parse_chat_request(request.body);
  if (auto* e = std::get_if<providers::request_error>(&parsed)) {
    respond(data_plane_error(400, "invalid_request_error", e->code, e->message, e->param));
    return;
  }
  actors::chat_call call;
  call.tenant_id = std::move(who.tenant_id);
  call.user_id = std::move(who.user_id);
  call.request_id = request.request_id;
  call.request = std::make_shared<const providers::chat_request>(
      std::get<providers::chat_request>(std::move(parsed)));
  call.received_at = request.received_at;
  call.sink = std::make_shared<http_sink>(
      std::move(respond), std::move(request.disconnected),
      http_sink::options{call.request_id, call.request->stream, call.request->include_usage});
  call.home = runtime::current_context();
  actors::spawn_request_actor(sys, std::move(services), std::move(call));
}

/// What a data-plane call does once its caller is known (start_chat, start_embeddings).
using start_fn = void (*)(caf::actor_system&, std::shared_ptr<const actors::gateway_services>,
                          identity::principal, net::http_request, net::respond_fn);

asio::awaitable<void> run_call(start_fn start, identity::authenticator& auth,
                               caf::actor_system& sys,
                               std::shared_ptr<const actors::gateway_services> services,
                               net::http_request request, net::respond_fn respond) {
  auto who = co_await authenticated(auth, request, respond);
  if (!who) co_return;
  start(sys, std::move(services), std::move(*who), std::move(request), std::move(respond));
}

/// A call with a cached token starts from the session's handler; any other authenticates
/// first on a strand of the connection's shard. The request and the responder pass through
/// by reference: they are moved once, into `start`.
void authenticate_then(start_fn start, asio::io_context& io, identity::authenticator& auth,
                       caf::actor_system& sys,
                       const std::shared_ptr<const actors::gateway_services>& services,
                       net::http_request&& request, net::respond_fn&& respond) {
  if (auto known = auth.authenticate_cached(request.header("authorization"))) {
    if (auto failed = auth_failure(known->status)) return respond(std::move(*failed));
    return start(sys, services, std::move(known->who), std::move(request), std::move(respond));
  }
  asio::co_spawn(asio::make_strand(runtime::local_context(io)),
                 run_call(start, auth, sys, services, std::move(request), std::move(respond)),
                 asio::detached);
}

asio::awaitable<void> run_models(identity::authenticator& auth,
                                 std::shared_ptr<const actors::gateway_services> services,
                                 net::http_request request, net::respond_fn respond) {
  auto who = co_await authenticated(auth, request, respond);
  if (!who) co_return;
  std::string user = who->user_id;
  auto ids = co_await ask_models(services->tenants->get(who->tenant_id), std::move(user));
  json::array data;
  auto model = [](std::string id, std::string owner) {
    return json::object{
        {"id", std::move(id)}, {"object", "model"}, {"created", 0}, {"owned_by", std::move(owner)}};
  };
  if (!ids.empty()) data.push_back(model("auto", "nyxgate"));
  for (auto& id : ids) {
    auto owner = id.substr(0, id.find('/'));
    data.push_back(model(std::move(id), std::move(owner)));
  }
  net::http_response out;
  out.route = telemetry::route_kind::data_plane;
  out.body = json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}});
  respond(std::move(out));
}

asio::awaitable<void> run_websocket(identity::authenticator& auth,
                                    std::shared_ptr<const ws_chat_context> ws,
                                    net::http_request request, net::respond_fn respond) {
  auto upgrade = request.header("upgrade");
  if (upgrade.size() != 9 || !std::equal(upgrade.begin(), upgrade.end(), "websocket",
                                         [](char a, char b) { return std::tolower(a) == b; })) {
    auto out = data_plane_error(426, "invalid_request_error", "upgrade_required",
                                "GET /v1/ws needs a WebSocket upgrade (Upgrade: websocket)");
    out.headers.emplace_back("upgrade", "websocket");
    respond(std::move(out));
    co_return;
  }
  // Browsers cannot set headers: without one, the socket opens and must authenticate by its
  // first message. A header that is there must be valid.
  std::optional<identity::principal> who;
  std::optional<identity::token_digest> token;
  if (!request.header("authorization").empty()) {
    who = co_await authenticated(auth, request, respond);
    if (!who) co_return;
    token = identity::authenticator::digest(request.header("authorization"));
  }
  net::http_response out;
  out.route = telemetry::route_kind::data_plane;
  out.websocket = make_ws_chat(std::move(ws), std::move(who), std::move(token));
  respond(std::move(out));
}

}  // namespace

data_plane::data_plane(asio::io_context& io, identity::authenticator& auth, caf::actor_system& sys,
                       std::shared_ptr<const actors::gateway_services> services,
                       ws_chat_options ws_options, storage::database* db, progress_hub* progress)
    : io_(io), auth_(auth), sys_(sys), services_(std::move(services)) {
  auto ws = std::make_shared<ws_chat_context>();
  ws->io = &io_;
  ws->auth = &auth_;
  ws->sys = &sys_;
  ws->services = services_;
  ws->options = ws_options;
  ws->db = db;
  ws->progress = progress;
  ws_ = std::move(ws);
}

void data_plane::websocket(net::http_request request, net::respond_fn respond) {
  asio::co_spawn(asio::make_strand(runtime::local_context(io_)),
                 run_websocket(auth_, ws_, std::move(request), std::move(respond)), asio::detached);
}

void data_plane::chat_completions(net::http_request request, net::respond_fn respond) {
  authenticate_then(&start_chat, io_, auth_, sys_, services_, std::move(request),
                    std::move(respond));
}

void data_plane::embeddings(net::http_request request, net::respond_fn respond) {
  authenticate_then(&start_embeddings, io_, auth_, sys_, services_, std::move(request),
                    std::move(respond));
}

void data_plane::models(net::http_request request, net::respond_fn respond) {
  asio::co_spawn(asio::make_strand(runtime::local_context(io_)),
                 run_models(auth_, services_, std::move(request), std::move(respond)),
                 asio::detached);
}

}  // namespace nyxgate::api
