#include "api/trpc/key_procedures.hpp"

#include <boost/json.hpp>

#include "actors/tenant_actor.hpp"
#include "identity/token.hpp"
#include "api/trpc/identity_procedures.hpp"
#include "api/tenant_calls.hpp"
#include "api/trpc/input.hpp"
#include "providers/registry.hpp"
#include "providers/resolution.hpp"
#include "security/key_vault.hpp"
#include "storage/async.hpp"
#include "storage/identity_repository.hpp"

namespace nyxgate::api {

namespace json = boost::json;
using boost::asio::awaitable;
using storage::statement;

namespace {

struct key_services {
  storage::database& db;
  actors::tenant_directory& tenants;
  std::shared_ptr<actors::vault_ref> vault;
};

statement notify_change(const std::string& tenant_id) {
  statement st{"SELECT pg_notify($1, $2)"};
  st.bind(tenant_change_channel).bind(tenant_id);
  return st;
}

/// Runs a write batch, then has the tenant actor reload before the mutation answers.
awaitable<std::variant<storage::db_reply, trpc_error>> write_and_refresh(
    key_services& s, const std::string& tenant_id, storage::db_batch batch, std::string_view what) {
  batch.transaction = true;
  batch.statements.push_back(notify_change(tenant_id));
  auto reply = co_await storage::async_execute(s.db, std::move(batch));
  if (!reply.ok()) co_return storage_failure(reply, what);
  auto failed = co_await ask_reload(s.tenants.get(tenant_id));
  if (!failed.empty())
    co_return trpc_error{trpc_code::service_unavailable,
                         "saved, but refreshing keys failed: " + failed};
  co_return reply;
}

std::string key_columns() {
  return "id, provider, name, hint, is_personal, status, status_reason, " +
         storage::identity_repository::iso_time("cooldown_until") + ", " +
         storage::identity_repository::iso_time("created_at");
}

json::object key_json(const storage::db_result& r, std::size_t i) {
  auto nullable = [&](std::size_t c) -> json::value {
    if (r.is_null(i, c)) return nullptr;
    return json::string{r.at(i, c)};
  };
  return {{"id", r.at(i, 0)},
          {"provider", r.at(i, 1)},
          {"name", r.at(i, 2)},
          {"hint", r.at(i, 3)},
          {"isPersonal", r.at(i, 4) == "t"},
          {"status", r.at(i, 5)},
          {"statusReason", nullable(6)},
          {"cooldownUntil", nullable(7)},
          {"createdAt", r.at(i, 8)}};
}

awaitable<procedure_result> api_keys_list(key_services& s, const procedure_context& ctx,
                                          const std::optional<json::value>& input) {
  input_reader in(input, true);
  NYXGATE_FINISH_INPUT(in);
  statement st{"SELECT " + key_columns() +
               " FROM api_keys WHERE tenant_id = $1 AND (user_id IS NULL OR user_id = $2) "
               "ORDER BY created_at DESC, id"};
  st.bind(ctx.who.tenant_id).bind(ctx.who.user_id);
  auto reply = co_await storage::async_execute(s.db, storage::single(std::move(st)));
  if (!reply.ok()) co_return storage_failure(reply, "api keys");
  json::array out;
  const auto& r = reply.results.front();
  for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(key_json(r, i));
  co_return json::value(std::move(out));
}

awaitable<procedure_result> api_keys_create(key_services& s, const procedure_context& ctx,
                                            const std::optional<json::value>& input) {
  input_reader in(input);
  auto provider = in.required_one_of("provider", providers::key_provider_ids());
  auto name = in.required_string("name", 1, 100);
  auto secret = in.required_secret("key", 8, 4096);
  bool personal = in.optional_bool("isPersonal").value_or(false);
  NYXGATE_FINISH_INPUT(in);
  if (!personal && !ctx.who.is_admin())
    co_return trpc_error{trpc_code::forbidden,
                         "tenant keys need the admin role; set isPersonal: true for your own key"};
  auto vault = s.vault->get();
  auto id = identity::new_uuid();
  auto sealed = vault->seal(secret, ctx.who.tenant_id + ":" + id);
  statement st{
      "INSERT INTO api_keys (tenant_id, id, user_id, is_personal, provider, name, "
      "secret_ciphertext, secret_nonce, key_version, hint, created_by) VALUES ($1, $2, $3, $4, $5, "
      "$6, decode($7, 'hex'), decode($8, 'hex'), $9, $10, $11) RETURNING " +
      key_columns()};
  st.bind(ctx.who.tenant_id).bind(id);
  // isPersonal always binds the key to the caller, never to a user named in the input.
  st.bind(personal ? std::optional<std::string>{ctx.who.user_id} : std::nullopt);
  st.bind(personal).bind(provider).bind(name);
  st.bind(security::to_hex(sealed.ciphertext)).bind(security::to_hex(sealed.nonce));
  st.bind(std::int64_t{sealed.key_version})
      .bind(security::secret_hint(secret))
      .bind(ctx.who.user_id);
  storage::db_batch b;
  b.statements.push_back(std::move(st));
  auto result = co_await write_and_refresh(s, ctx.who.tenant_id, std::move(b), "api key");
  if (auto* e = std::get_if<trpc_error>(&result)) co_return std::move(*e);
  co_return json::value(key_json(std::get<storage::db_reply>(result).results.front(), 0));
}

/// The key as the caller may see it: a tenant key, or the caller's own personal key. Anything
/// else (another user's personal key, another tenant's key, no key) is NOT_FOUND.
awaitable<std::variant<bool, trpc_error>> visible_key_is_personal(key_services& s,
                                                                  const procedure_context& ctx,
                                                                  const std::string& id) {
  statement st{
      "SELECT is_personal FROM api_keys WHERE tenant_id = $1 AND id = $2 "
      "AND (user_id IS NULL OR user_id = $3)"};
  st.bind(ctx.who.tenant_id).bind(id).bind(ctx.who.user_id);
  auto reply = co_await storage::async_execute(s.db, storage::single(std::move(st)));
  if (!reply.ok()) co_return storage_failure(reply, "api key");
  if (reply.results.front().empty())
    co_return trpc_error{trpc_code::not_found, "input.id: no such key"};
  bool personal = reply.results.front().at(0, 0) == "t";
  if (!personal && !ctx.who.is_admin())
    co_return trpc_error{trpc_code::forbidden, "changing tenant keys needs the admin role"};
  co_return personal;
}

awaitable<procedure_result> api_keys_delete(key_services& s, const procedure_context& ctx,
                                            const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  NYXGATE_FINISH_INPUT(in);
  auto check = co_await visible_key_is_personal(s, ctx, id);
  if (auto* e = std::get_if<trpc_error>(&check)) co_return std::move(*e);
  statement st{
      "DELETE FROM api_keys WHERE tenant_id = $1 AND id = $2 AND (user_id IS NULL OR user_id = $3) "
      "RETURNING id"};
  st.bind(ctx.who.tenant_id).bind(id).bind(ctx.who.user_id);
  storage::db_batch b;
  b.statements.push_back(std::move(st));
  auto result = co_await write_and_refresh(s, ctx.who.tenant_id, std::move(b), "api key");
  if (auto* e = std::get_if<trpc_error>(&result)) co_return std::move(*e);
  if (std::get<storage::db_reply>(result).results.front().empty())
    co_return trpc_error{trpc_code::not_found, "input.id: no such key"};
  co_return json::value(json::object{{"id", id}, {"deleted", true}});
}

awaitable<procedure_result> api_keys_replace(key_services& s, const procedure_context& ctx,
                                             const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  auto secret = in.required_secret("key", 8, 4096);
  auto name = in.optional_string("name", 100);
  NYXGATE_FINISH_INPUT(in);
  auto check = co_await visible_key_is_personal(s, ctx, id);
  if (auto* e = std::get_if<trpc_error>(&check)) co_return std::move(*e);
  auto sealed = s.vault->get()->seal(secret, ctx.who.tenant_id + ":" + id);
  // A replaced key starts healthy: an invalid key stays invalid only until it is replaced.
  statement st{
      "UPDATE api_keys SET secret_ciphertext = decode($4, 'hex'), secret_nonce = decode($5, "
      "'hex'), "
      "key_version = $6, hint = $7, name = coalesce($8, name), status = 'active', "
      "status_reason = NULL, cooldown_until = NULL, updated_at = now() "
      "WHERE tenant_id = $1 AND id = $2 AND (user_id IS NULL OR user_id = $3) RETURNING " +
      key_columns()};
  st.bind(ctx.who.tenant_id).bind(id).bind(ctx.who.user_id);
  st.bind(security::to_hex(sealed.ciphertext)).bind(security::to_hex(sealed.nonce));
  st.bind(std::int64_t{sealed.key_version}).bind(security::secret_hint(secret)).bind(name);
  storage::db_batch b;
  b.statements.push_back(std::move(st));
  auto result = co_await write_and_refresh(s, ctx.who.tenant_id, std::move(b), "api key");
  if (auto* e = std::get_if<trpc_error>(&result)) co_return std::move(*e);
  const auto& r = std::get<storage::db_reply>(result).results.front();
  if (r.empty()) co_return trpc_error{trpc_code::not_found, "input.id: no such key"};
  co_return json::value(key_json(r, 0));
}

awaitable<procedure_result> defaults_get(key_services& s, const procedure_context& ctx,
                                         const std::optional<json::value>& input) {
  input_reader in(input, true);
  NYXGATE_FINISH_INPUT(in);
  statement st{"SELECT primary_provider, fallback_provider, models::text, max_tokens, ethics, " +
               storage::identity_repository::iso_time("updated_at") +
               " FROM llm_defaults WHERE tenant_id = $1"};
  st.bind(ctx.who.tenant_id);
  auto reply = co_await storage::async_execute(s.db, storage::single(std::move(st)));
  if (!reply.ok()) co_return storage_failure(reply, "llm defaults");
  const auto& r = reply.results.front();
  if (r.empty()) co_return trpc_error{trpc_code::not_found, "no LLM defaults for this tenant"};
  co_return json::value(json::object{
      {"primary", r.at(0, 0)},
      {"fallback", r.is_null(0, 1) ? json::value(nullptr) : json::value(json::string{r.at(0, 1)})},
      {"models", json::parse(r.at(0, 2))},
      {"maxTokens", std::atoll(r.at(0, 3).c_str())},
      {"ethics", r.at(0, 4)},
      {"updatedAt", r.at(0, 5)}});
}

awaitable<procedure_result> defaults_update(key_services& s, const procedure_context& ctx,
                                            const std::optional<json::value>& input) {
  input_reader in(input);
  auto primary = in.optional_one_of("primary", providers::chat_provider_ids());
  const json::value* fallback_raw = in.optional_value("fallback");
  std::optional<std::string> fallback;
  bool clear_fallback = fallback_raw && fallback_raw->is_null();
  if (fallback_raw && !fallback_raw->is_null()) {
    if (!fallback_raw->is_string() ||
        !providers::is_chat_provider(std::string_view{fallback_raw->as_string()}))
      in.fail("fallback", "must be one of " + providers::chat_provider_list() + ", or null");
    else
      fallback = std::string{fallback_raw->as_string()};
  }
  const json::value* models_raw = in.optional_value("models");
  std::optional<std::string> models;
  if (models_raw && !models_raw->is_null()) {
    if (!models_raw->is_object()) {
      in.fail("models", "expected an object of provider to model name");
    } else {
      for (const auto& [p, m] : models_raw->as_object()) {
        if (!providers::is_chat_provider(std::string_view{p}))
          in.fail("models", "unknown provider \"" + std::string{p} + "\"");
        else if (!m.is_string() || !providers::valid_model_name(m.as_string()) ||
                 m.as_string().find('/') != json::string::npos)
          in.fail("models", "the model for " + std::string{p} +
                                " must be a model name: at most 128 letters, digits, '.', '_', "
                                "':' and '-'");
      }
      models = json::serialize(*models_raw);
    }
  }
  auto max_tokens = in.optional_int("maxTokens", 1, 1'000'000);
  auto ethics = in.optional_string("ethics", 20000);
  NYXGATE_FINISH_INPUT(in);
  if (!ctx.who.is_admin())
    co_return trpc_error{trpc_code::forbidden, "llmDefaults.update needs the admin role"};
  statement st{
      "UPDATE llm_defaults SET primary_provider = coalesce($2, primary_provider), "
      "fallback_provider = CASE WHEN $3 THEN NULL ELSE coalesce($4, fallback_provider) END, "
      "models = coalesce($5::jsonb, models), max_tokens = coalesce($6::integer, max_tokens), "
      "ethics = coalesce($7, ethics), updated_at = now() WHERE tenant_id = $1 RETURNING tenant_id"};
  st.bind(ctx.who.tenant_id).bind(primary).bind(clear_fallback).bind(fallback).bind(models);
  st.bind(max_tokens ? std::optional<std::string>{std::to_string(*max_tokens)} : std::nullopt);
  st.bind(ethics);
  storage::db_batch b;
  b.statements.push_back(std::move(st));
  auto result = co_await write_and_refresh(s, ctx.who.tenant_id, std::move(b), "llm defaults");
  if (auto* e = std::get_if<trpc_error>(&result)) co_return std::move(*e);
  co_return co_await defaults_get(s, ctx, std::nullopt);
}

awaitable<procedure_result> providers_resolve(key_services& s, const procedure_context& ctx,
                                              const std::optional<json::value>& input) {
  input_reader in(input, true);
  auto provider = in.optional_one_of("provider", providers::key_provider_ids());
  auto model = in.optional_string("model", 200);
  bool strict = in.optional_bool("strict").value_or(false);
  NYXGATE_FINISH_INPUT(in);
  actors::resolve_query q{ctx.who.user_id, provider.value_or(""), model.value_or("")};
  auto a = co_await ask_resolve(s.tenants.get(ctx.who.tenant_id), std::move(q));
  if (!a.error.empty()) {
    if (a.error.starts_with("unknown"))
      co_return trpc_error{trpc_code::bad_request, "input.model: " + a.error};
    co_return trpc_error{trpc_code::service_unavailable, a.error};
  }
  if (!a.found) {
    // resolveProviderStrict: no usable key is an error the caller must handle, not a null.
    if (strict)
      co_return trpc_error{
          trpc_code::precondition_failed,
          "no_provider_key: no usable key for " +
              (provider ? *provider : std::string{"the primary or fallback provider"})};
    co_return json::value(nullptr);
  }
  co_return json::value(json::object{{"provider", a.provider},
                                     {"model", a.model},
                                     {"keyId", a.key_id},
                                     {"hint", a.hint},
                                     {"scope", a.scope},
                                     {"viaFallback", a.via_fallback}});
}

}  // namespace

void add_key_procedures(trpc_router& router, storage::database& db,
                        actors::tenant_directory& tenants,
                        std::shared_ptr<actors::vault_ref> vault) {
  auto s = std::make_shared<key_services>(key_services{db, tenants, std::move(vault)});
  auto add = [&](const char* path, trpc_kind kind, auto fn) {
    router.add(path, kind,
               [s, fn](const procedure_context& c, const std::optional<json::value>& i) {
                 return fn(*s, c, i);
               });
  };
  add("apiKeys.list", trpc_kind::query, api_keys_list);
  add("apiKeys.create", trpc_kind::mutation, api_keys_create);
  add("apiKeys.delete", trpc_kind::mutation, api_keys_delete);
  add("apiKeys.replace", trpc_kind::mutation, api_keys_replace);
  add("llmDefaults.get", trpc_kind::query, defaults_get);
  add("llmDefaults.update", trpc_kind::mutation, defaults_update);
  add("providers.resolve", trpc_kind::query, providers_resolve);
}

}  // namespace nyxgate::api
