#include "api/trpc/key_access.hpp"

#include "actors/tenant_actor.hpp"
#include "api/tenant_calls.hpp"
#include "api/trpc/identity_procedures.hpp"
#include "net/client/https_client.hpp"
#include "providers/github_api.hpp"
#include "security/key_vault.hpp"
#include "storage/api_keys_repository.hpp"
#include "storage/async.hpp"
#include "storage/channels.hpp"

namespace nyxgate::api {

using boost::asio::awaitable;
namespace keys_sql = storage::api_keys_repository;

awaitable<std::variant<opened_key, trpc_error>> open_visible_key(const key_access& keys,
                                                                 const procedure_context& ctx,
                                                                 const std::string& id) {
  auto reply = co_await storage::async_execute(
      keys.db,
      storage::single(keys_sql::visible_sealed_key(ctx.who.tenant_id, id, ctx.who.user_id)));
  if (!reply.ok()) co_return storage_failure(reply, "api key");
  auto rows = keys_sql::sealed_key_rows(reply.results.front());
  if (rows.empty()) co_return trpc_error{trpc_code::not_found, "input.id: no such key"};
  auto& key = rows.front();
  auto opened = keys.vault->get()->open(key.sealed, ctx.who.tenant_id + ":" + id);
  if (auto* e = std::get_if<security::vault_errc>(&opened))
    co_return trpc_error{trpc_code::internal_server_error,
                         "the stored key cannot be decrypted: " + std::string{to_string(*e)}};
  co_return opened_key{std::move(key.key.provider), key.key.personal,
                       std::get<std::string>(std::move(opened))};
}

awaitable<std::variant<github_token, trpc_error>> open_github_token(const key_access& keys,
                                                                    const procedure_context& ctx) {
  // A named query, not a temporary: GCC 12 mis-copies temporaries that live across a
  // co_await (their short-string buffers keep pointing into the old frame).
  actors::resolve_query q{ctx.who.user_id, "github", ""};
  auto a = co_await ask_resolve(keys.tenants.get(ctx.who.tenant_id), std::move(q));
  if (!a.error.empty()) co_return trpc_error{trpc_code::service_unavailable, a.error};
  if (!a.found)
    co_return trpc_error{trpc_code::precondition_failed,
                         "no_github_token: add a github key (personal or tenant) first"};
  auto loaded = co_await open_visible_key(keys, ctx, a.key_id);
  if (auto* e = std::get_if<trpc_error>(&loaded)) co_return std::move(*e);
  co_return github_token{a.key_id, a.scope, a.hint, std::get<opened_key>(std::move(loaded)).secret};
}

awaitable<std::optional<trpc_error>> save_key_status(
    const key_access& keys, const std::string& tenant_id, const std::string& key_id,
    providers::key_status status, const std::string& reason, std::int64_t cooldown_s) {
  storage::db_batch b;
  b.transaction = true;
  b.statements.push_back(keys_sql::set_status(tenant_id, key_id, status, reason, cooldown_s));
  b.statements.push_back(storage::notify(storage::tenant_change_channel, tenant_id));
  auto reply = co_await storage::async_execute(keys.db, std::move(b));
  if (!reply.ok()) co_return storage_failure(reply, "api key");
  auto failed = co_await ask_reload(keys.tenants.get(tenant_id));
  if (!failed.empty())
    co_return trpc_error{trpc_code::service_unavailable, "saved, but refreshing keys failed"};
  co_return std::nullopt;
}

awaitable<net::outbound_response> github_fetch(net::https_client& client, std::string url,
                                               const std::string& token) {
  auto g = providers::github_request(std::move(url), token);
  net::outbound_request req;
  req.url = std::move(g.url);
  req.headers = std::move(g.headers);
  req.timeout = std::chrono::milliseconds(10000);
  req.max_response_bytes = 16 << 20;
  co_return co_await client.async_send(std::move(req));
}

}  // namespace nyxgate::api
