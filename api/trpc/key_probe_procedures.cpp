#include "api/trpc/key_probe_procedures.hpp"

#include <boost/json.hpp>

#include "actors/tenant_actor.hpp"
#include "api/trpc/identity_procedures.hpp"
#include "api/trpc/input.hpp"
#include "api/trpc/key_access.hpp"
#include "api/trpc/key_procedures.hpp"
#include "net/client/https_client.hpp"
#include "providers/probe.hpp"
#include "storage/api_keys_repository.hpp"
#include "storage/async.hpp"

namespace nyxgate::api {

namespace json = boost::json;
using boost::asio::awaitable;
namespace keys = storage::api_keys_repository;

namespace {

struct probe_services {
  key_access keys;
  std::shared_ptr<net::https_client> client;
  probe_settings settings;
};

std::string base_url_for(const probe_settings& s, const std::string& provider) {
  if (provider == "openai") return s.openai;
  if (provider == "anthropic") return s.anthropic;
  if (provider == "google") return s.google;
  if (provider == "kimi") return s.kimi;
  return s.github;
}

awaitable<net::outbound_response> probe(probe_services& s, const std::string& provider,
                                        const std::string& secret) {
  auto p = providers::key_probe(provider, base_url_for(s.settings, provider), secret);
  net::outbound_request req;
  req.url = std::move(p.url);
  req.headers = std::move(p.headers);
  req.timeout = std::chrono::milliseconds(10000);
  req.max_response_bytes = 4 << 20;
  co_return co_await s.client->async_send(std::move(req));
}

awaitable<procedure_result> api_keys_test(probe_services& s, const procedure_context& ctx,
                                          const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  NYXGATE_FINISH_INPUT(in);
  auto loaded = co_await open_visible_key(s.keys, ctx, id);
  if (auto* e = std::get_if<trpc_error>(&loaded)) co_return std::move(*e);
  auto key = std::get<opened_key>(std::move(loaded));
  if (!key.personal && !ctx.who.is_admin())
    co_return trpc_error{trpc_code::forbidden, "testing tenant keys needs the admin role"};
  auto started = std::chrono::steady_clock::now();
  auto answer = co_await probe(s, key.provider, key.secret);
  auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count();
  auto verdict = providers::classify_probe(key.provider, answer.status, answer.body, answer.error);
  if (verdict.status) {
    auto failed = co_await save_key_status(s.keys, ctx.who.tenant_id, id, *verdict.status,
                                           verdict.reason, s.settings.key_cooldown_s);
    if (failed) co_return std::move(*failed);
  }
  auto current = co_await storage::async_execute(
      s.keys.db, storage::single(keys::visible_key(ctx.who.tenant_id, id, ctx.who.user_id)));
  if (!current.ok()) co_return storage_failure(current, "api key");
  auto rows = keys::key_rows(current.results.front());
  if (rows.empty()) co_return trpc_error{trpc_code::not_found, "input.id: no such key"};
  const auto& k = rows.front();
  co_return json::value(json::object{{"id", id},
                                     {"ok", answer.status >= 200 && answer.status < 300},
                                     {"httpStatus", answer.status},
                                     {"latencyMs", latency},
                                     {"detail", verdict.reason},
                                     {"status", providers::to_string(k.status)},
                                     {"statusReason", json_or_null(k.status_reason)},
                                     {"cooldownUntil", json_or_null(k.cooldown_until)}});
}

awaitable<procedure_result> github_viewer(probe_services& s, const procedure_context& ctx,
                                          const std::optional<json::value>& input) {
  input_reader in(input, true);
  NYXGATE_FINISH_INPUT(in);
  auto token = co_await open_github_token(s.keys, ctx);
  if (auto* e = std::get_if<trpc_error>(&token)) co_return std::move(*e);
  const auto& t = std::get<github_token>(token);
  auto answer = co_await probe(s, "github", t.secret);
  if (answer.status == 0)
    co_return trpc_error{trpc_code::bad_gateway, "GitHub unreachable: " + answer.error};
  if (answer.status == 401 || answer.status == 403)
    co_return trpc_error{trpc_code::precondition_failed,
                         "GitHub rejected the token (" + std::to_string(answer.status) + ")"};
  if (answer.status != 200)
    co_return trpc_error{trpc_code::bad_gateway,
                         "GitHub answered " + std::to_string(answer.status)};
  boost::system::error_code ec;
  auto user = json::parse(answer.body, ec);
  if (ec || !user.is_object())
    co_return trpc_error{trpc_code::bad_gateway, "GitHub answered something that is not JSON"};
  json::array scopes;
  std::string header = answer.header("x-oauth-scopes");
  std::size_t start = 0;
  while (start < header.size()) {
    auto comma = header.find(',', start);
    auto part =
        header.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!part.empty() && part.front() == ' ') part.erase(0, 1);
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) scopes.emplace_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  const auto& u = user.as_object();
  auto field = [&](std::string_view k) -> json::value {
    auto* v = u.if_contains(k);
    return v ? *v : json::value(nullptr);
  };
  co_return json::value(json::object{{"login", field("login")},
                                     {"id", field("id")},
                                     {"name", field("name")},
                                     {"scopes", std::move(scopes)},
                                     {"keyId", t.key_id},
                                     {"keyScope", t.scope}});
}

}  // namespace

void add_key_probe_procedures(trpc_router& router, key_access keys,
                              std::shared_ptr<net::https_client> client, probe_settings settings) {
  auto s = std::make_shared<probe_services>(
      probe_services{std::move(keys), std::move(client), std::move(settings)});
  router.add("apiKeys.test", trpc_kind::mutation,
             [s](const procedure_context& c, const std::optional<json::value>& i) {
               return api_keys_test(*s, c, i);
             });
  router.add("github.viewer", trpc_kind::query,
             [s](const procedure_context& c, const std::optional<json::value>& i) {
               return github_viewer(*s, c, i);
             });
}

}  // namespace nyxgate::api
