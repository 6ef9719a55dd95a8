#include "api/trpc/router.hpp"

#include <algorithm>
#include <exception>

#include "telemetry/log.hpp"

namespace nyxgate::api {

trpc_router::trpc_router(identity::authenticator& auth, trpc_parse_limits limits)
    : auth_(auth), limits_(limits) {}

void trpc_router::add(std::string path, trpc_kind kind, procedure_fn fn) {
  procedures_.insert_or_assign(std::move(path), procedure{kind, std::move(fn)});
}

void trpc_router::add_public(std::string path, trpc_kind kind, procedure_fn fn) {
  procedures_.insert_or_assign(std::move(path), procedure{kind, std::move(fn), false});
}

void trpc_router::add_subscription(std::string path, subscription_fn fn) {
  procedures_.insert_or_assign(std::move(path),
                               procedure{trpc_kind::subscription, {}, true, std::move(fn)});
}

std::vector<std::pair<std::string, trpc_kind>> trpc_router::procedures() const {
  std::vector<std::pair<std::string, trpc_kind>> out;
  out.reserve(procedures_.size());
  for (const auto& [path, p] : procedures_) out.emplace_back(path, p.kind);
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

net::http_response to_http(trpc_http_reply reply) {
  net::http_response out;
  out.status = reply.status;
  out.body = std::move(reply.body);
  out.route = telemetry::route_kind::trpc;
  if (!reply.allow.empty()) out.headers.emplace_back("allow", std::move(reply.allow));
  return out;
}

trpc_error auth_error(identity::auth_status status) {
  switch (status) {
    case identity::auth_status::missing:
      return {trpc_code::unauthorized, "missing bearer token (Authorization: Bearer ngt_...)"};
    case identity::auth_status::unavailable:
      return {trpc_code::service_unavailable, "authentication is temporarily unavailable"};
    default:
      return {trpc_code::unauthorized, "invalid or revoked token"};
  }
}

}  // namespace

boost::asio::awaitable<net::http_response> trpc_router::handle(const net::http_request& request) {
  auto parsed = parse_trpc_request(request.method, request.target, request.body, limits_);
  if (auto* err = std::get_if<trpc_error>(&parsed)) co_return to_http(render_trpc_error(*err));
  const auto& calls = std::get<trpc_request>(parsed);

  if (!calls.batch && calls.calls.size() == 1) {
    auto it = procedures_.find(calls.calls.front().path);
    if (it != procedures_.end() && it->second.kind == trpc_kind::subscription &&
        request.method == "GET")
      co_return co_await subscribe(it->second, calls.calls.front(), request);
  }

  std::vector<trpc_outcome> outcomes;
  outcomes.reserve(calls.calls.size());
  std::optional<identity::auth_result> auth;
  for (const auto& call : calls.calls) {
    auto it = procedures_.find(call.path);
    if (it == procedures_.end()) {
      outcomes.emplace_back(
          trpc_error{trpc_code::not_found, "No procedure found on path \"" + call.path + "\""});
      continue;
    }
    if (auto mismatch = check_trpc_method(it->second.kind, request.method, call.path)) {
      outcomes.emplace_back(std::move(*mismatch));
      continue;
    }
    if (it->second.kind == trpc_kind::subscription) {
      outcomes.emplace_back(trpc_error{trpc_code::bad_request, "Cannot batch subscription calls"});
      continue;
    }
    static const identity::principal nobody;
    if (it->second.needs_token) {
      if (!auth) auth = co_await auth_.authenticate(request.header("authorization"));
      if (auth->status != identity::auth_status::ok) {
        outcomes.emplace_back(auth_error(auth->status));
        continue;
      }
    }
    procedure_context ctx{it->second.needs_token ? auth->who : nobody, request};
    try {
      auto result = co_await it->second.fn(ctx, call.input);
      if (auto* v = std::get_if<boost::json::value>(&result))
        outcomes.emplace_back(std::move(*v));
      else
        outcomes.emplace_back(std::get<trpc_error>(std::move(result)));
    } catch (const std::exception& e) {
      telemetry::log_error(
          "procedure failed",
          {{"path", call.path}, {"request_id", request.request_id}, {"error", e.what()}});
      outcomes.emplace_back(trpc_error{trpc_code::internal_server_error, "internal error"});
    }
  }
  co_return to_http(render_trpc_reply(calls, outcomes));
}

boost::asio::awaitable<net::http_response> trpc_router::subscribe(
    const procedure& p, const trpc_call& call, const net::http_request& request) {
  subscription_result result = trpc_error{trpc_code::internal_server_error, "internal error"};
  auto auth = co_await auth_.authenticate(request.header("authorization"));
  if (auth.status != identity::auth_status::ok) {
    result = auth_error(auth.status);
  } else {
    try {
      procedure_context ctx{auth.who, request};
      result = co_await p.subscribe(ctx, call.input);
    } catch (const std::exception& e) {
      telemetry::log_error(
          "subscription failed",
          {{"path", call.path}, {"request_id", request.request_id}, {"error", e.what()}});
    }
  }
  net::http_response out;
  out.route = telemetry::route_kind::trpc;
  out.content_type = "text/event-stream";
  out.headers.emplace_back("cache-control", "no-cache, no-transform");
  out.headers.emplace_back("x-accel-buffering", "no");
  if (auto* err = std::get_if<trpc_error>(&result)) {
    out.stream = [text = trpc_sse_connected() +
                         trpc_sse_error(*err, call.path)](std::shared_ptr<net::response_writer> w) {
      w->write(text);
      w->finish();
    };
    co_return out;
  }
  out.stream =
      [produce = std::get<stream_fn>(std::move(result))](std::shared_ptr<net::response_writer> w) {
        if (w->write(trpc_sse_connected())) produce(std::move(w));
      };
  co_return out;
}

}  // namespace nyxgate::api
