#include "api/router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json.hpp>

#include "api/blog/pages.hpp"
#include "api/openai/chat_handler.hpp"
#include "api/openai/errors.hpp"
#include "runtime/io_runtime.hpp"
#include "storage/async.hpp"
#include "storage/migrations.hpp"
#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"
#include "telemetry/utf8.hpp"

namespace nyxgate::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

asio::awaitable<void> run_trpc(trpc_router& trpc, net::http_request request,
                               net::respond_fn respond) {
  net::http_response response;
  try {
    response = co_await trpc.handle(request);
  } catch (const std::exception& e) {
    telemetry::log_error("trpc handler failed",
                         {{"request_id", request.request_id}, {"error", e.what()}});
    response = router::error_response(500, "server_error", "internal_error", "internal error");
    response.route = telemetry::route_kind::trpc;
  }
  respond(std::move(response));
}

asio::awaitable<void> run_readyz(storage::database& db, net::http_request,
                                 net::respond_fn respond) {
  auto reply =
      co_await storage::async_execute(db, storage::single(storage::schema_version_query()));
  net::http_response out;
  out.route = telemetry::route_kind::health;
  int version = reply.ok() ? storage::schema_version_of(reply.results.front()) : -1;
  bool ready = version == storage::latest_schema_version();
  out.status = ready ? 200 : 503;
  json::object body{{"status", ready ? "ready" : "not_ready"},
                    {"database", reply.ok() ? "up" : std::string{storage::to_string(reply.error)}},
                    {"schemaVersion", version},
                    {"expectedSchemaVersion", storage::latest_schema_version()}};
  out.body = json::serialize(body);
  respond(std::move(out));
}

}  // namespace

router::router(asio::io_context& io, storage::database& db, trpc_router& trpc, data_plane* data,
               blog::blog_pages* blog)
    : io_(io), db_(db), trpc_(trpc), data_(data), blog_(blog) {}

net::http_response router::error_response(unsigned status, std::string_view type,
                                          std::string_view code, std::string_view message) {
  return api::error_response(status, type, code, telemetry::to_valid_utf8(message));
}

namespace {

net::http_response method_not_allowed(std::string_view path, std::string_view allowed) {
  auto out = router::error_response(405, "invalid_request_error", "method_not_allowed",
                                    "use " + std::string{allowed} + " for " + std::string{path});
  out.headers.emplace_back("allow", std::string{allowed});
  out.route = telemetry::route_kind::data_plane;
  return out;
}

}  // namespace

void router::handle(net::http_request request, net::respond_fn respond) {
  auto path = path_of(request.target);
  if (path.starts_with("/trpc/")) {
    asio::co_spawn(asio::make_strand(runtime::local_context(io_)),
                   run_trpc(trpc_, std::move(request), std::move(respond)), asio::detached);
    return;
  }
  if (data_ && path == "/v1/chat/completions") {
    if (request.method == "POST")
      return data_->chat_completions(std::move(request), std::move(respond));
    return respond(method_not_allowed(path, "POST"));
  }
  if (data_ && path == "/v1/embeddings") {
    if (request.method == "POST") return data_->embeddings(std::move(request), std::move(respond));
    return respond(method_not_allowed(path, "POST"));
  }
  if (data_ && path == "/v1/models") {
    if (request.method == "GET") return data_->models(std::move(request), std::move(respond));
    return respond(method_not_allowed(path, "GET"));
  }
  if (data_ && path == "/v1/ws") {
    if (request.method == "GET") return data_->websocket(std::move(request), std::move(respond));
    return respond(method_not_allowed(path, "GET"));
  }
  if (blog_ && path.starts_with("/b/"))
    return blog_->handle(std::move(request), std::move(respond));
  if (path == "/healthz") {
    net::http_response out;
    out.route = telemetry::route_kind::health;
    if (live_ && !live_()) {
      out.status = 503;
      out.body = R"({"status":"failing","reason":"the embedded database could not be restarted"})";
    } else {
      out.body = R"({"status":"ok"})";
    }
    return respond(std::move(out));
  }
  if (path == "/readyz") {
    asio::co_spawn(asio::make_strand(runtime::local_context(io_)),
                   run_readyz(db_, std::move(request), std::move(respond)), asio::detached);
    return;
  }
  if (path == "/metrics") {
    net::http_response out;
    out.route = telemetry::route_kind::metrics;
    out.content_type = "text/plain; version=0.0.4; charset=utf-8";
    out.body = telemetry::metrics().render();
    return respond(std::move(out));
  }
  respond(error_response(404, "invalid_request_error", "not_found",
                         "no route for " + std::string{path}));
}

}  // namespace nyxgate::api
