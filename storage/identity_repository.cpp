#include "storage/identity_repository.hpp"

#include "storage/channels.hpp"
#include "storage/detail/cells.hpp"

namespace nyxgate::storage::identity_repository {

using detail::iso_time;

namespace {
statement notify_principal_change(std::string_view tenant_id) {
  return notify(principal_change_channel, tenant_id);
}

/// The member has no token in this tenant from this membership: an invite may give them one.
/// (Removing a membership revokes its tokens.)
constexpr std::string_view never_signed_in =
    "NOT EXISTS (SELECT 1 FROM access_tokens t WHERE t.tenant_id = m.tenant_id "
    "AND t.user_id = m.user_id AND t.created_at >= m.created_at)";

std::string invite_expiry(std::string_view ttl_param) {
  return "now() + make_interval(secs => " + std::string{ttl_param} + "::bigint)";
}
}  // namespace

statement tenant_with_user(std::string_view tenant_id, std::string_view user_id) {
  statement st{
      "SELECT t.id, t.slug, t.name, u.id, u.email, m.name FROM tenants t "
      "JOIN memberships m ON m.tenant_id = t.id JOIN users u ON u.id = m.user_id "
      "WHERE t.id = $1 AND u.id = $2"};
  st.bind(tenant_id).bind(user_id);
  return st;
}

std::optional<tenant_user_row> tenant_user_of(const db_result& r) {
  if (r.empty()) return std::nullopt;
  return tenant_user_row{r.at(0, 0), r.at(0, 1), r.at(0, 2), r.at(0, 3), r.at(0, 4), r.at(0, 5)};
}

statement list_members(std::string_view tenant_id) {
  statement st{"SELECT m.user_id, u.email, m.name, m.role, " + iso_time("m.created_at") +
               " FROM memberships m JOIN users u ON u.id = m.user_id "
               "WHERE m.tenant_id = $1 ORDER BY m.created_at, u.email"};
  st.bind(tenant_id);
  return st;
}

std::vector<member_row> member_rows(const db_result& r) {
  std::vector<member_row> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i)
    out.push_back({r.at(i, 0), r.at(i, 1), r.at(i, 2), r.at(i, 3), r.at(i, 4)});
  return out;
}

statement member_role(std::string_view tenant_id, std::string_view user_id) {
  statement st{"SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2"};
  st.bind(tenant_id).bind(user_id);
  return st;
}

statement add_member(std::string_view tenant_id, std::string_view email, std::string_view name,
                     std::string_view role, std::string_view code_hash, std::int64_t invite_ttl_s) {
  // The no-op update makes RETURNING yield the id of an existing user too; nothing else of
  // that user is read.
  statement st{
      "WITH u AS (INSERT INTO users (email, name) VALUES ($2, $3) "
      "ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING id), "
      "m AS (INSERT INTO memberships (tenant_id, user_id, role, name) SELECT $1, u.id, $4, $3 "
      "FROM u RETURNING tenant_id, user_id, role), "
      "i AS (INSERT INTO invites (tenant_id, user_id, code_hash, expires_at) "
      "SELECT tenant_id, user_id, $5, " +
      invite_expiry("$6") + " FROM m RETURNING expires_at) SELECT m.user_id, m.role, " +
      iso_time("i.expires_at") + " FROM m, i"};
  st.bind(tenant_id).bind(email).bind(name).bind(role).bind(code_hash).bind(invite_ttl_s);
  return st;
}

std::optional<added_member_row> added_member_of(const db_result& r) {
  if (r.empty()) return std::nullopt;
  return added_member_row{r.at(0, 0), r.at(0, 1), r.at(0, 2)};
}

statement invite_member(std::string_view tenant_id, std::string_view user_id,
                        std::string_view code_hash, std::int64_t invite_ttl_s) {
  statement st{
      "INSERT INTO invites (tenant_id, user_id, code_hash, expires_at) "
      "SELECT m.tenant_id, m.user_id, $3, " +
      invite_expiry("$4") + " FROM memberships m WHERE m.tenant_id = $1 AND m.user_id = $2 AND " +
      std::string{never_signed_in} +
      " ON CONFLICT (tenant_id, user_id) DO UPDATE SET code_hash = EXCLUDED.code_hash, "
      "expires_at = EXCLUDED.expires_at, created_at = now() RETURNING " +
      iso_time("expires_at")};
  st.bind(tenant_id).bind(user_id).bind(code_hash).bind(invite_ttl_s);
  return st;
}

statement redeem_invite(std::string_view code_hash, std::string_view name,
                        std::string_view token_hash) {
  // Deleting the invite makes it single-use; a code that matched nothing (unknown, used,
  // expired) yields no row.
  statement st{
      "WITH i AS (DELETE FROM invites WHERE code_hash = $1 AND expires_at > now() "
      "RETURNING tenant_id, user_id), "
      "m AS (UPDATE memberships m SET name = $2 FROM i WHERE m.tenant_id = i.tenant_id "
      "AND m.user_id = i.user_id AND " +
      std::string{never_signed_in} +
      " RETURNING m.tenant_id, m.user_id, m.role, m.name), "
      "t AS (INSERT INTO access_tokens (tenant_id, user_id, name, token_hash) "
      "SELECT tenant_id, user_id, 'invite', $3 FROM m RETURNING id, tenant_id, user_id) "
      "SELECT t.id, tn.id, tn.slug, tn.name, u.id, u.email, m.name, m.role FROM t "
      "JOIN m ON m.tenant_id = t.tenant_id AND m.user_id = t.user_id "
      "JOIN tenants tn ON tn.id = t.tenant_id JOIN users u ON u.id = t.user_id"};
  st.bind(code_hash).bind(name).bind(token_hash);
  return st;
}

std::optional<redeemed_row> redeemed_of(const db_result& r) {
  if (r.empty()) return std::nullopt;
  return redeemed_row{r.at(0, 0), r.at(0, 1), r.at(0, 2), r.at(0, 3),
                      r.at(0, 4), r.at(0, 5), r.at(0, 6), r.at(0, 7)};
}

namespace {
statement lock_owners(std::string_view tenant_id) {
  statement st{
      "SELECT user_id FROM memberships WHERE tenant_id = $1 AND role = 'owner' FOR UPDATE"};
  st.bind(tenant_id);
  return st;
}
constexpr std::string_view keeps_an_owner =
    "(role <> 'owner' OR (SELECT count(*) FROM memberships o "
    "WHERE o.tenant_id = $1 AND o.role = 'owner') > 1)";
}  // namespace

db_batch set_member_role(std::string_view tenant_id, std::string_view user_id,
                         std::string_view expected_role, std::string_view new_role) {
  db_batch b;
  b.transaction = true;
  b.statements.push_back(lock_owners(tenant_id));
  statement st{
      "UPDATE memberships SET role = $4 WHERE tenant_id = $1 AND user_id = $2 "
      "AND role = $3 AND ($4 = 'owner' OR " +
      std::string{keeps_an_owner} + ") RETURNING user_id, role"};
  st.bind(tenant_id).bind(user_id).bind(expected_role).bind(new_role);
  b.statements.push_back(std::move(st));
  b.statements.push_back(notify_principal_change(tenant_id));
  return b;
}

db_batch remove_member(std::string_view tenant_id, std::string_view user_id,
                       std::string_view expected_role) {
  db_batch b;
  b.transaction = true;
  b.statements.push_back(lock_owners(tenant_id));
  statement del{"DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2 AND role = $3 AND " +
                std::string{keeps_an_owner} + " RETURNING user_id"};
  del.bind(tenant_id).bind(user_id).bind(expected_role);
  b.statements.push_back(std::move(del));
  statement revoke{
      "UPDATE access_tokens SET revoked_at = now() WHERE tenant_id = $1 AND user_id = $2 "
      "AND revoked_at IS NULL AND NOT EXISTS (SELECT 1 FROM memberships "
      "WHERE tenant_id = $1 AND user_id = $2)"};
  revoke.bind(tenant_id).bind(user_id);
  b.statements.push_back(std::move(revoke));
  b.statements.push_back(notify_principal_change(tenant_id));
  return b;
}

bool changed(const db_reply& reply) {
  // Statement 1 (after the owners' lock) returns the changed member.
  return reply.results.size() > 1 && !reply.results[1].empty();
}

namespace {
/// The columns of a token_row, in its order.
std::string token_columns() {
  return "id, name, " + iso_time("created_at") + ", " + iso_time("last_used_at") + ", " +
         iso_time("revoked_at");
}
}  // namespace

statement list_tokens(std::string_view tenant_id, std::string_view user_id) {
  statement st{"SELECT " + token_columns() +
               " FROM access_tokens WHERE tenant_id = $1 AND user_id = $2 "
               "ORDER BY created_at DESC, id"};
  st.bind(tenant_id).bind(user_id);
  return st;
}

statement create_token(std::string_view tenant_id, std::string_view user_id, std::string_view name,
                       std::string_view token_hash) {
  statement st{
      "INSERT INTO access_tokens (tenant_id, user_id, name, token_hash) "
      "VALUES ($1, $2, $3, $4) RETURNING " +
      token_columns()};
  st.bind(tenant_id).bind(user_id).bind(name).bind(token_hash);
  return st;
}

std::vector<token_row> token_rows(const db_result& r) {
  std::vector<token_row> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i)
    out.push_back({r.at(i, 0), r.at(i, 1), r.at(i, 2), r.get(i, 3), r.get(i, 4)});
  return out;
}

db_batch revoke_token(std::string_view tenant_id, std::string_view token_id,
                      std::string_view user_id, bool any_user) {
  db_batch b;
  b.transaction = true;
  statement st{
      "UPDATE access_tokens SET revoked_at = coalesce(revoked_at, now()) "
      "WHERE tenant_id = $1 AND id = $2 AND (user_id = $3 OR $4) RETURNING id"};
  st.bind(tenant_id).bind(token_id).bind(user_id).bind(any_user);
  b.statements.push_back(std::move(st));
  b.statements.push_back(notify_principal_change(tenant_id));
  return b;
}

bool revoked(const db_reply& reply) {
  return !reply.results.empty() && !reply.results.front().empty();
}

std::optional<std::string> text_of(const db_result& r) {
  if (r.empty()) return std::nullopt;
  return r.at(0, 0);
}

statement count_tenants() {
  return statement{"SELECT count(*) FROM tenants"};
}

statement token_principal(std::string_view token_hash) {
  statement st{
      "SELECT t.tenant_id, t.user_id, t.id, m.role, t.token_hash FROM access_tokens t "
      "JOIN memberships m ON m.tenant_id = t.tenant_id AND m.user_id = t.user_id "
      "WHERE t.token_hash = $1 AND t.revoked_at IS NULL"};
  st.bind(token_hash);
  return st;
}

std::optional<token_principal_row> token_principal_of(const db_result& r) {
  if (r.empty()) return std::nullopt;
  return token_principal_row{r.at(0, 0), r.at(0, 1), r.at(0, 2), r.at(0, 3), r.at(0, 4)};
}

statement touch_tokens(const std::vector<token_use>& uses) {
  // Three parallel arrays, as PostgreSQL array literals of uuids and numbers.
  std::string ids = "{", tenants = "{", times = "{";
  for (const auto& u : uses) {
    if (ids.size() > 1) ids += ',', tenants += ',', times += ',';
    ids += u.token_id;
    tenants += u.tenant_id;
    times += std::to_string(u.unix_s);
  }
  ids += '}', tenants += '}', times += '}';
  statement st{
      "UPDATE access_tokens t SET last_used_at = to_timestamp(v.ts) "
      "FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS v(id, tenant_id, ts) "
      "WHERE t.tenant_id = v.tenant_id AND t.id = v.id "
      "AND (t.last_used_at IS NULL OR t.last_used_at < to_timestamp(v.ts))"};
  st.bind(ids).bind(tenants).bind(times);
  return st;
}

statement tenant_for_init(std::string_view slug, std::string_view email) {
  statement st{
      "SELECT t.id, t.name, (SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id "
      "WHERE m.tenant_id = t.id AND u.email = $2), (SELECT u.name FROM users u WHERE u.email = $2) "
      "FROM tenants t WHERE t.slug = $1"};
  st.bind(slug).bind(email);
  return st;
}

std::optional<init_row> init_row_of(const db_result& r) {
  if (r.empty()) return std::nullopt;
  return init_row{r.at(0, 0), r.at(0, 1), r.get(0, 2), r.get(0, 3)};
}

db_batch create_tenant_with_owner(std::string_view slug, std::string_view tenant_name,
                                  std::string_view email, std::string_view owner_name,
                                  std::string_view token_hash) {
  db_batch b;
  b.transaction = true;
  statement user{"INSERT INTO users (email, name) VALUES ($1, $2) ON CONFLICT (email) DO NOTHING"};
  user.bind(email).bind(owner_name);
  statement tenant{"INSERT INTO tenants (slug, name) VALUES ($1, $2)"};
  tenant.bind(slug).bind(tenant_name);
  statement member{
      "INSERT INTO memberships (tenant_id, user_id, role, name) SELECT t.id, u.id, 'owner', $3 "
      "FROM tenants t, users u WHERE t.slug = $1 AND u.email = $2"};
  member.bind(slug).bind(email).bind(owner_name);
  statement defaults{"INSERT INTO llm_defaults (tenant_id) SELECT id FROM tenants WHERE slug = $1"};
  defaults.bind(slug);
  statement token{
      "INSERT INTO access_tokens (tenant_id, user_id, name, token_hash) SELECT t.id, u.id, "
      "'init', $3 FROM tenants t, users u WHERE t.slug = $1 AND u.email = $2"};
  token.bind(slug).bind(email).bind(token_hash);
  for (auto* st : {&user, &tenant, &member, &defaults, &token})
    b.statements.push_back(std::move(*st));
  return b;
}

}  // namespace nyxgate::storage::identity_repository
