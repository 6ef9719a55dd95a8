#include "api/trpc/key_procedures.hpp"

#include <boost/json.hpp>

#include "actors/tenant_actor.hpp"
#include "api/tenant_calls.hpp"
#include "api/trpc/identity_procedures.hpp"
#include "api/trpc/input.hpp"
#include "identity/token.hpp"
#include "providers/registry.hpp"
#include "providers/resolution.hpp"
#include "security/key_vault.hpp"
#include "storage/api_keys_repository.hpp"
#include "storage/async.hpp"
#include "storage/channels.hpp"
#include "storage/llm_defaults_repository.hpp"

namespace nyxgate::api {

namespace json = boost::json;
using boost::asio::awaitable;
namespace keys = storage::api_keys_repository;
namespace defaults = storage::llm_defaults_repository;

namespace {

struct key_services {
  storage::database& db;
  actors::tenant_directory& tenants;
  std::shared_ptr<actors::vault_ref> vault;
};

/// Runs a write batch, then has the tenant actor reload before the mutation answers.
awaitable<std::variant<storage::db_reply, trpc_error>> write_and_refresh(
    key_services& s, const std::string& tenant_id, storage::db_batch batch, std::string_view what) {
  batch.transaction = true;
  batch.statements.push_back(storage::notify(storage::tenant_change_channel, tenant_id));
  auto reply = co_await storage::async_execute(s.db, std::move(batch));
  if (!reply.ok()) co_return storage_failure(reply, what);
  auto failed = co_await ask_reload(s.tenants.get(tenant_id));
  if (!failed.empty())
    co_return trpc_error{trpc_code::service_unavailable,
                         "saved, but refreshing keys failed: " + failed};
  co_return reply;
}

json::object key_json(const keys::key_row& k) {
  return {{"id", k.id},
          {"provider", k.provider},
          {"name", k.name},
          {"hint", k.hint},
          {"isPersonal", k.personal},
          {"status", providers::to_string(k.status)},
          {"statusReason", json_or_null(k.status_reason)},
          {"cooldownUntil", json_or_null(k.cooldown_until)},
          {"createdAt", k.created_at}};
}

awaitable<procedure_result> api_keys_list(key_services& s, const procedure_context& ctx,
                                          const std::optional<json::value>& input) {
  input_reader in(input, true);
  NYXGATE_FINISH_INPUT(in);
  auto reply = co_await storage::async_execute(
      s.db, storage::single(keys::list_visible(ctx.who.tenant_id, ctx.who.user_id)));
  if (!reply.ok()) co_return storage_failure(reply, "api keys");
  json::array out;
  for (const auto& k : keys::key_rows(reply.results.front())) out.push_back(key_json(k));
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
  auto hint = security::secret_hint(secret);
  // isPersonal always binds the key to the caller, never to a user named in the input.
  keys::new_key k{ctx.who.tenant_id,
                  id,
                  personal ? std::optional<std::string>{ctx.who.user_id} : std::nullopt,
                  provider,
                  name,
                  sealed,
                  hint,
                  ctx.who.user_id};
  auto result =
      co_await write_and_refresh(s, ctx.who.tenant_id, storage::single(keys::create(k)), "api key");
  if (auto* e = std::get_if<trpc_error>(&result)) co_return std::move(*e);
  auto rows = keys::key_rows(std::get<storage::db_reply>(result).results.front());
  if (rows.empty()) co_return trpc_error{trpc_code::internal_server_error, "api key not created"};
  co_return json::value(key_json(rows.front()));
}

/// The key as the caller may see it: a tenant key, or the caller's own personal key. Anything
/// else (another user's personal key, another tenant's key, no key) is NOT_FOUND.
awaitable<std::variant<bool, trpc_error>> visible_key_is_personal(key_services& s,
                                                                  const procedure_context& ctx,
                                                                  const std::string& id) {
  auto reply = co_await storage::async_execute(
      s.db, storage::single(keys::visible_key(ctx.who.tenant_id, id, ctx.who.user_id)));
  if (!reply.ok()) co_return storage_failure(reply, "api key");
  auto rows = keys::key_rows(reply.results.front());
  if (rows.empty()) co_return trpc_error{trpc_code::not_found, "input.id: no such key"};
  bool personal = rows.front().personal;
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
  auto result = co_await write_and_refresh(
      s, ctx.who.tenant_id, storage::single(keys::remove(ctx.who.tenant_id, id, ctx.who.user_id)),
      "api key");
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
  auto st = keys::replace_secret(ctx.who.tenant_id, id, ctx.who.user_id, sealed,
                                 security::secret_hint(secret), name);
  auto result =
      co_await write_and_refresh(s, ctx.who.tenant_id, storage::single(std::move(st)), "api key");
  if (auto* e = std::get_if<trpc_error>(&result)) co_return std::move(*e);
  auto rows = keys::key_rows(std::get<storage::db_reply>(result).results.front());
  if (rows.empty()) co_return trpc_error{trpc_code::not_found, "input.id: no such key"};
  co_return json::value(key_json(rows.front()));
}

awaitable<procedure_result> defaults_get(key_services& s, const procedure_context& ctx,
                                         const std::optional<json::value>& input) {
  input_reader in(input, true);
  NYXGATE_FINISH_INPUT(in);
  auto reply = co_await storage::async_execute(
      s.db, storage::single(defaults::tenant_defaults(ctx.who.tenant_id)));
  if (!reply.ok()) co_return storage_failure(reply, "llm defaults");
  auto d = defaults::defaults_of(reply.results.front());
  if (!d) co_return trpc_error{trpc_code::not_found, "no LLM defaults for this tenant"};
  co_return json::value(json::object{{"primary", d->primary},
                                     {"fallback", json_or_null(d->fallback)},
                                     {"models", json::parse(d->models)},
                                     {"maxTokens", d->max_tokens},
                                     {"ethics", d->ethics},
                                     {"updatedAt", d->updated_at}});
}

awaitable<procedure_result> defaults_update(key_services& s, const procedure_context& ctx,
                                            const std::optional<json::value>& input) {
  input_reader in(input);
  auto primary = in.optional_one_of("primary", providers::chat_provider_ids());
  const json::value* fallback_raw = in.optional_value("fallback");
  defaults::defaults_change change;
  change.primary = std::move(primary);
  change.clear_fallback = fallback_raw && fallback_raw->is_null();
  if (fallback_raw && !fallback_raw->is_null()) {
    if (!fallback_raw->is_string() ||
        !providers::is_chat_provider(std::string_view{fallback_raw->as_string()}))
      in.fail("fallback", "must be one of " + providers::chat_provider_list() + ", or null");
    else
      change.fallback = std::string{fallback_raw->as_string()};
  }
  const json::value* models_raw = in.optional_value("models");
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
      change.models = json::serialize(*models_raw);
    }
  }
  change.max_tokens = in.optional_int("maxTokens", 1, 1'000'000);
  change.ethics = in.optional_string("ethics", 20000);
  NYXGATE_FINISH_INPUT(in);
  if (!ctx.who.is_admin())
    co_return trpc_error{trpc_code::forbidden, "llmDefaults.update needs the admin role"};
  auto result = co_await write_and_refresh(
      s, ctx.who.tenant_id, storage::single(defaults::update(ctx.who.tenant_id, change)),
      "llm defaults");
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
