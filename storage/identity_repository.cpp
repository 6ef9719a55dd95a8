#include "storage/identity_repository.hpp"

namespace nyxgate::storage::identity_repository {

std::string iso_time(std::string_view column) {
  return "to_char(" + std::string{column} +
         " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

statement tenant_with_user(std::string_view tenant_id, std::string_view user_id) {
  statement st{
      "SELECT t.id, t.slug, t.name, u.id, u.email, u.name FROM tenants t "
      "JOIN memberships m ON m.tenant_id = t.id JOIN users u ON u.id = m.user_id "
      "WHERE t.id = $1 AND u.id = $2"};
  st.bind(tenant_id).bind(user_id);
  return st;
}

statement list_members(std::string_view tenant_id) {
  statement st{"SELECT m.user_id, u.email, u.name, m.role, " + iso_time("m.created_at") +
               " FROM memberships m JOIN users u ON u.id = m.user_id "
               "WHERE m.tenant_id = $1 ORDER BY m.created_at, u.email"};
  st.bind(tenant_id);
  return st;
}

statement member_role(std::string_view tenant_id, std::string_view user_id) {
  statement st{"SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2"};
  st.bind(tenant_id).bind(user_id);
  return st;
}

statement add_member(std::string_view tenant_id, std::string_view email, std::string_view name,
                     std::string_view role) {
  // The no-op update makes RETURNING yield the id of an existing user too.
  statement st{
      "WITH u AS (INSERT INTO users (email, name) VALUES ($2, $3) "
      "ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING id, email, name) "
      "INSERT INTO memberships (tenant_id, user_id, role) SELECT $1, u.id, $4 FROM u "
      "RETURNING user_id, (SELECT email FROM u), (SELECT name FROM u), role"};
  st.bind(tenant_id).bind(email).bind(name).bind(role);
  return st;
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
  return b;
}

statement list_tokens(std::string_view tenant_id, std::string_view user_id) {
  statement st{"SELECT id, name, " + iso_time("created_at") + ", " + iso_time("last_used_at") +
               ", " + iso_time("revoked_at") +
               " FROM access_tokens WHERE tenant_id = $1 AND user_id = $2 "
               "ORDER BY created_at DESC, id"};
  st.bind(tenant_id).bind(user_id);
  return st;
}

statement create_token(std::string_view tenant_id, std::string_view user_id, std::string_view name,
                       std::string_view token_hash) {
  statement st{
      "INSERT INTO access_tokens (tenant_id, user_id, name, token_hash) "
      "VALUES ($1, $2, $3, $4) RETURNING id, name, " +
      iso_time("created_at")};
  st.bind(tenant_id).bind(user_id).bind(name).bind(token_hash);
  return st;
}

statement revoke_token(std::string_view tenant_id, std::string_view token_id,
                       std::string_view user_id, bool any_user) {
  statement st{
      "UPDATE access_tokens SET revoked_at = coalesce(revoked_at, now()) "
      "WHERE tenant_id = $1 AND id = $2 AND (user_id = $3 OR $4) RETURNING id"};
  st.bind(tenant_id).bind(token_id).bind(user_id).bind(any_user);
  return st;
}

}  // namespace nyxgate::storage::identity_repository
