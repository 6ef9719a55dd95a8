#include "api/trpc/identity_procedures.hpp"

#include <boost/json.hpp>

#include "api/trpc/input.hpp"
#include "identity/token.hpp"
#include "storage/async.hpp"
#include "storage/identity_repository.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::api {

namespace json = boost::json;
namespace repo = storage::identity_repository;
using boost::asio::awaitable;
using storage::db_errc;

trpc_error storage_failure(const storage::db_reply& reply, std::string_view what) {
  switch (reply.error) {
    case db_errc::unavailable:
    case db_errc::connection_lost:
    case db_errc::overloaded:
    case db_errc::timeout:
      telemetry::log_warn("storage failure", {{"what", what}, {"error", to_string(reply.error)}});
      return {trpc_code::service_unavailable, "database temporarily unavailable, retry shortly"};
    case db_errc::unique_violation:
      return {trpc_code::conflict, std::string{what} + ": already exists"};
    case db_errc::foreign_key_violation:
      return {trpc_code::not_found, std::string{what} + ": not found"};
    case db_errc::check_violation:
      return {trpc_code::bad_request, std::string{what} + ": a value is out of range"};
    default:
      telemetry::log_error(
          "storage error",
          {{"what", what}, {"error", to_string(reply.error)}, {"sqlstate", reply.sqlstate}});
      return {trpc_code::internal_server_error, "internal error"};
  }
}

json::value json_or_null(const std::optional<std::string>& v) {
  if (!v) return nullptr;
  return json::string{*v};
}

namespace {

trpc_error forbidden(std::string_view what) {
  return {trpc_code::forbidden, std::string{what}};
}

/// Reads the input; the first validation failure becomes the procedure's answer.
awaitable<procedure_result> tenants_current(storage::database& db, const procedure_context& ctx,
                                            const std::optional<json::value>& input) {
  input_reader in(input, true);
  NYXGATE_FINISH_INPUT(in);
  auto reply = co_await storage::async_execute(
      db, storage::single(repo::tenant_with_user(ctx.who.tenant_id, ctx.who.user_id)));
  if (!reply.ok()) co_return storage_failure(reply, "tenant");
  auto t = repo::tenant_user_of(reply.results.front());
  if (!t) co_return trpc_error{trpc_code::unauthorized, "membership no longer exists"};
  co_return json::value(json::object{
      {"id", t->tenant_id},
      {"slug", t->slug},
      {"name", t->tenant_name},
      {"role", ctx.who.role},
      {"user", json::object{{"id", t->user_id}, {"email", t->email}, {"name", t->member_name}}}});
}

awaitable<procedure_result> members_list(storage::database& db, const procedure_context& ctx,
                                         const std::optional<json::value>& input) {
  input_reader in(input, true);
  NYXGATE_FINISH_INPUT(in);
  auto reply =
      co_await storage::async_execute(db, storage::single(repo::list_members(ctx.who.tenant_id)));
  if (!reply.ok()) co_return storage_failure(reply, "members");
  json::array out;
  for (const auto& m : repo::member_rows(reply.results.front()))
    out.push_back(json::object{{"userId", m.user_id},
                               {"email", m.email},
                               {"name", m.name},
                               {"role", m.role},
                               {"createdAt", m.created_at}});
  co_return json::value(std::move(out));
}

json::object invite_json(std::string code, const std::string& expires_at) {
  return {{"code", std::move(code)}, {"expiresAt", expires_at}};
}

awaitable<procedure_result> members_add(storage::database& db, std::int64_t invite_ttl_s,
                                        const procedure_context& ctx,
                                        const std::optional<json::value>& input) {
  input_reader in(input);
  auto email = in.required_email("email");
  auto name = in.optional_string("name", 200).value_or("");
  auto role = in.required_enum("role", {"owner", "admin", "member"});
  NYXGATE_FINISH_INPUT(in);
  if (!ctx.who.is_admin()) co_return forbidden("members.add needs the admin or owner role");
  if (role == "owner" && !ctx.who.is_owner()) co_return forbidden("only an owner may add an owner");
  auto code = identity::generate_invite_code();
  auto reply = co_await storage::async_execute(
      db, storage::single(repo::add_member(ctx.who.tenant_id, email, name, role,
                                           identity::sha256_hex(code), invite_ttl_s)));
  if (reply.error == db_errc::unique_violation)
    co_return trpc_error{trpc_code::conflict, "input.email: already a member of this tenant"};
  if (!reply.ok()) co_return storage_failure(reply, "member");
  auto added = repo::added_member_of(reply.results.front());
  if (!added) co_return storage_failure(reply, "member");
  // Only what the caller sent: whether the email has an account elsewhere shows nowhere.
  co_return json::value(
      json::object{{"userId", added->user_id},
                   {"email", email},
                   {"name", name},
                   {"role", added->role},
                   {"invite", invite_json(std::move(code), added->invite_expires_at)}});
}

/// Loads the target's role in the caller's tenant; NOT_FOUND when it is not a member here.
awaitable<std::variant<std::string, trpc_error>> target_role(storage::database& db,
                                                             const procedure_context& ctx,
                                                             const std::string& user_id) {
  auto reply = co_await storage::async_execute(
      db, storage::single(repo::member_role(ctx.who.tenant_id, user_id)));
  if (!reply.ok()) co_return storage_failure(reply, "member");
  auto role = repo::text_of(reply.results.front());
  if (!role) co_return trpc_error{trpc_code::not_found, "input.memberId: no such member"};
  co_return std::move(*role);
}

awaitable<procedure_result> members_set_role(storage::database& db, identity::authenticator& auth,
                                             const procedure_context& ctx,
                                             const std::optional<json::value>& input) {
  input_reader in(input);
  auto user_id = in.required_uuid("memberId");
  auto role = in.required_enum("role", {"owner", "admin", "member"});
  NYXGATE_FINISH_INPUT(in);
  if (!ctx.who.is_admin()) co_return forbidden("members.setRole needs the admin or owner role");
  auto current = co_await target_role(db, ctx, user_id);
  if (auto* e = std::get_if<trpc_error>(&current)) co_return std::move(*e);
  const auto& was = std::get<std::string>(current);
  if ((was == "owner" || role == "owner") && !ctx.who.is_owner())
    co_return forbidden("only an owner may grant or take away the owner role");
  auto reply = co_await storage::async_execute(
      db, repo::set_member_role(ctx.who.tenant_id, user_id, was, role));
  if (!reply.ok()) co_return storage_failure(reply, "member");
  if (!repo::changed(reply)) {
    if (was == "owner")
      co_return trpc_error{trpc_code::precondition_failed,
                           "the last owner of a tenant cannot be demoted"};
    co_return trpc_error{trpc_code::conflict, "the member changed meanwhile; retry"};
  }
  auth.invalidate_tenant(ctx.who.tenant_id);
  co_return json::value(json::object{{"userId", user_id}, {"role", role}});
}

awaitable<procedure_result> members_remove(storage::database& db, identity::authenticator& auth,
                                           const procedure_context& ctx,
                                           const std::optional<json::value>& input) {
  input_reader in(input);
  auto user_id = in.required_uuid("memberId");
  NYXGATE_FINISH_INPUT(in);
  if (!ctx.who.is_admin()) co_return forbidden("members.remove needs the admin or owner role");
  auto current = co_await target_role(db, ctx, user_id);
  if (auto* e = std::get_if<trpc_error>(&current)) co_return std::move(*e);
  const auto& was = std::get<std::string>(current);
  if (was == "owner" && !ctx.who.is_owner())
    co_return forbidden("only an owner may remove an owner");
  auto reply =
      co_await storage::async_execute(db, repo::remove_member(ctx.who.tenant_id, user_id, was));
  if (!reply.ok()) co_return storage_failure(reply, "member");
  if (!repo::changed(reply)) {
    if (was == "owner")
      co_return trpc_error{trpc_code::precondition_failed,
                           "the last owner of a tenant cannot be removed"};
    co_return trpc_error{trpc_code::conflict, "the member changed meanwhile; retry"};
  }
  auth.invalidate_tenant(ctx.who.tenant_id);
  co_return json::value(json::object{{"userId", user_id}, {"removed", true}});
}

awaitable<procedure_result> members_invite(storage::database& db, std::int64_t invite_ttl_s,
                                           const procedure_context& ctx,
                                           const std::optional<json::value>& input) {
  input_reader in(input);
  auto user_id = in.required_uuid("memberId");
  NYXGATE_FINISH_INPUT(in);
  if (!ctx.who.is_admin()) co_return forbidden("members.invite needs the admin or owner role");
  auto current = co_await target_role(db, ctx, user_id);
  if (auto* e = std::get_if<trpc_error>(&current)) co_return std::move(*e);
  // Whoever holds the code becomes that member: only an owner hands out an owner's.
  if (std::get<std::string>(current) == "owner" && !ctx.who.is_owner())
    co_return forbidden("only an owner may invite an owner");
  auto code = identity::generate_invite_code();
  auto reply = co_await storage::async_execute(
      db, storage::single(repo::invite_member(ctx.who.tenant_id, user_id,
                                              identity::sha256_hex(code), invite_ttl_s)));
  if (!reply.ok()) co_return storage_failure(reply, "invite");
  auto expires_at = repo::text_of(reply.results.front());
  if (!expires_at)
    co_return trpc_error{trpc_code::precondition_failed,
                         "the member has signed in already; they create tokens with tokens.create"};
  co_return json::value(
      json::object{{"userId", user_id}, {"invite", invite_json(std::move(code), *expires_at)}});
}

/// Needs no token: the code is the credential.
awaitable<procedure_result> invites_redeem(storage::database& db, const procedure_context&,
                                           const std::optional<json::value>& input) {
  input_reader in(input);
  auto code = in.required_string("code", 1, 100);
  auto name = in.required_string("name", 1, 200);
  NYXGATE_FINISH_INPUT(in);
  auto token = identity::generate_token();
  auto reply = co_await storage::async_execute(
      db, storage::single(
              repo::redeem_invite(identity::sha256_hex(code), name, identity::sha256_hex(token))));
  if (!reply.ok()) co_return storage_failure(reply, "invite");
  auto r = repo::redeemed_of(reply.results.front());
  if (!r) co_return trpc_error{trpc_code::not_found, "input.code: unknown, used or expired"};
  co_return json::value(json::object{
      {"token", token},
      {"tokenId", r->token_id},
      {"tenant", json::object{{"id", r->tenant_id}, {"slug", r->slug}, {"name", r->tenant_name}}},
      {"user", json::object{{"id", r->user_id}, {"email", r->email}, {"name", r->member_name}}},
      {"role", r->role}});
}

awaitable<procedure_result> tokens_list(storage::database& db, const procedure_context& ctx,
                                        const std::optional<json::value>& input) {
  input_reader in(input, true);
  NYXGATE_FINISH_INPUT(in);
  auto reply = co_await storage::async_execute(
      db, storage::single(repo::list_tokens(ctx.who.tenant_id, ctx.who.user_id)));
  if (!reply.ok()) co_return storage_failure(reply, "tokens");
  json::array out;
  for (const auto& t : repo::token_rows(reply.results.front()))
    out.push_back(json::object{{"id", t.id},
                               {"name", t.name},
                               {"createdAt", t.created_at},
                               {"lastUsedAt", json_or_null(t.last_used_at)},
                               {"revokedAt", json_or_null(t.revoked_at)}});
  co_return json::value(std::move(out));
}

awaitable<procedure_result> tokens_create(storage::database& db, const procedure_context& ctx,
                                          const std::optional<json::value>& input) {
  input_reader in(input);
  auto name = in.required_string("name", 1, 100);
  NYXGATE_FINISH_INPUT(in);
  auto token = identity::generate_token();
  auto reply = co_await storage::async_execute(
      db, storage::single(repo::create_token(ctx.who.tenant_id, ctx.who.user_id, name,
                                             identity::sha256_hex(token))));
  if (!reply.ok()) co_return storage_failure(reply, "token");
  auto rows = repo::token_rows(reply.results.front());
  if (rows.empty()) co_return storage_failure(reply, "token");
  const auto& t = rows.front();
  co_return json::value(
      json::object{{"id", t.id}, {"name", t.name}, {"token", token}, {"createdAt", t.created_at}});
}

awaitable<procedure_result> tokens_revoke(storage::database& db, identity::authenticator& auth,
                                          const procedure_context& ctx,
                                          const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  NYXGATE_FINISH_INPUT(in);
  auto reply = co_await storage::async_execute(
      db, repo::revoke_token(ctx.who.tenant_id, id, ctx.who.user_id, ctx.who.is_admin()));
  if (!reply.ok()) co_return storage_failure(reply, "token");
  if (!repo::revoked(reply)) co_return trpc_error{trpc_code::not_found, "input.id: no such token"};
  auth.invalidate_tenant(ctx.who.tenant_id);
  co_return json::value(json::object{{"id", id}, {"revoked", true}});
}

}  // namespace

void add_identity_procedures(trpc_router& router, storage::database& db,
                             identity::authenticator& auth, std::int64_t invite_ttl_s) {
  auto* d = &db;
  auto* a = &auth;
  router.add("tenants.current", trpc_kind::query,
             [d](const auto& c, const auto& i) { return tenants_current(*d, c, i); });
  router.add("members.list", trpc_kind::query,
             [d](const auto& c, const auto& i) { return members_list(*d, c, i); });
  router.add("members.add", trpc_kind::mutation, [d, invite_ttl_s](const auto& c, const auto& i) {
    return members_add(*d, invite_ttl_s, c, i);
  });
  router.add("members.invite", trpc_kind::mutation,
             [d, invite_ttl_s](const auto& c, const auto& i) {
               return members_invite(*d, invite_ttl_s, c, i);
             });
  router.add("members.setRole", trpc_kind::mutation,
             [d, a](const auto& c, const auto& i) { return members_set_role(*d, *a, c, i); });
  router.add("members.remove", trpc_kind::mutation,
             [d, a](const auto& c, const auto& i) { return members_remove(*d, *a, c, i); });
  router.add("tokens.list", trpc_kind::query,
             [d](const auto& c, const auto& i) { return tokens_list(*d, c, i); });
  router.add("tokens.create", trpc_kind::mutation,
             [d](const auto& c, const auto& i) { return tokens_create(*d, c, i); });
  router.add("tokens.revoke", trpc_kind::mutation,
             [d, a](const auto& c, const auto& i) { return tokens_revoke(*d, *a, c, i); });
  router.add_public("invites.redeem", trpc_kind::mutation,
                    [d](const auto& c, const auto& i) { return invites_redeem(*d, c, i); });
}

}  // namespace nyxgate::api
