#include "storage/api_keys_repository.hpp"

#include "storage/detail/cells.hpp"

namespace nyxgate::storage::api_keys_repository {

using detail::bool_cell;
using detail::int_cell;
using detail::iso_time;
using providers::key_status;

namespace {

/// The columns of a key_row, in `key_col` order.
std::string key_columns() {
  return "id, provider, name, hint, is_personal, status, status_reason, " +
         iso_time("cooldown_until") + ", " + iso_time("created_at");
}
enum key_col : std::size_t {
  k_id,
  k_provider,
  k_name,
  k_hint,
  k_personal,
  k_status,
  k_reason,
  k_cooldown,
  k_created,
};

/// The columns of a sealed_key_row: a key_row's, then these in `sealed_col` order.
std::string sealed_columns() {
  return key_columns() +
         ", user_id, coalesce(extract(epoch FROM cooldown_until)::bigint, 0), "
         "(extract(epoch FROM created_at) * 1000000)::bigint, "
         "encode(secret_ciphertext, 'hex'), encode(secret_nonce, 'hex'), key_version";
}
enum sealed_col : std::size_t {
  s_user = k_created + 1,
  s_cooldown,
  s_created_us,
  s_ciphertext,
};

/// The key as the user may see it: a tenant key, or their own personal key. Another user's
/// personal key and another tenant's key are not there.
constexpr std::string_view visible_to_user =
    "tenant_id = $1 AND id = $2 AND (user_id IS NULL OR user_id = $3)";

/// The column's text, which the schema's CHECK keeps to the known statuses.
key_status status_cell(const db_result& r, std::size_t row, std::size_t col) {
  return providers::parse_key_status(r.at(row, col)).value_or(key_status::invalid);
}

security::sealed_secret sealed_cells(const db_result& r, std::size_t row, std::size_t first) {
  return {security::from_hex(r.at(row, first)).value_or(""),
          security::from_hex(r.at(row, first + 1)).value_or(""),
          static_cast<int>(int_cell(r, row, first + 2))};
}

}  // namespace

statement tenant_keys(std::string_view tenant_id) {
  statement st{"SELECT " + sealed_columns() +
               " FROM api_keys WHERE tenant_id = $1 AND status <> 'revoked'"};
  st.bind(tenant_id);
  return st;
}

statement visible_sealed_key(std::string_view tenant_id, std::string_view id,
                             std::string_view user_id) {
  statement st{"SELECT " + sealed_columns() + " FROM api_keys WHERE " +
               std::string{visible_to_user}};
  st.bind(tenant_id).bind(id).bind(user_id);
  return st;
}

std::vector<sealed_key_row> sealed_key_rows(const db_result& r) {
  auto keys = key_rows(r);
  std::vector<sealed_key_row> out;
  out.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i)
    out.push_back({std::move(keys[i]), r.get(i, s_user), int_cell(r, i, s_cooldown),
                   int_cell(r, i, s_created_us), sealed_cells(r, i, s_ciphertext)});
  return out;
}

statement list_visible(std::string_view tenant_id, std::string_view user_id) {
  statement st{"SELECT " + key_columns() +
               " FROM api_keys WHERE tenant_id = $1 AND (user_id IS NULL OR user_id = $2) "
               "ORDER BY created_at DESC, id"};
  st.bind(tenant_id).bind(user_id);
  return st;
}

statement visible_key(std::string_view tenant_id, std::string_view id, std::string_view user_id) {
  statement st{"SELECT " + key_columns() + " FROM api_keys WHERE " + std::string{visible_to_user}};
  st.bind(tenant_id).bind(id).bind(user_id);
  return st;
}

statement create(const new_key& k) {
  statement st{
      "INSERT INTO api_keys (tenant_id, id, user_id, is_personal, provider, name, "
      "secret_ciphertext, secret_nonce, key_version, hint, created_by) VALUES ($1, $2, $3, $4, $5, "
      "$6, decode($7, 'hex'), decode($8, 'hex'), $9, $10, $11) RETURNING " +
      key_columns()};
  st.bind(k.tenant_id).bind(k.id).bind(k.user_id).bind(k.user_id.has_value());
  st.bind(k.provider).bind(k.name);
  st.bind(security::to_hex(k.sealed.ciphertext)).bind(security::to_hex(k.sealed.nonce));
  st.bind(std::int64_t{k.sealed.key_version}).bind(k.hint).bind(k.created_by);
  return st;
}

statement remove(std::string_view tenant_id, std::string_view id, std::string_view user_id) {
  statement st{"DELETE FROM api_keys WHERE " + std::string{visible_to_user} + " RETURNING id"};
  st.bind(tenant_id).bind(id).bind(user_id);
  return st;
}

statement replace_secret(std::string_view tenant_id, std::string_view id, std::string_view user_id,
                         const security::sealed_secret& sealed, std::string_view hint,
                         const std::optional<std::string>& name) {
  // A replaced key starts healthy: an invalid key stays invalid only until it is replaced.
  statement st{
      "UPDATE api_keys SET secret_ciphertext = decode($4, 'hex'), secret_nonce = decode($5, "
      "'hex'), key_version = $6, hint = $7, name = coalesce($8, name), "
      "status = CASE WHEN status = 'revoked' THEN status ELSE 'active' END, "
      "status_reason = CASE WHEN status = 'revoked' THEN status_reason END, "
      "cooldown_until = NULL, updated_at = now() WHERE " +
      std::string{visible_to_user} + " RETURNING " + key_columns()};
  st.bind(tenant_id).bind(id).bind(user_id);
  st.bind(security::to_hex(sealed.ciphertext)).bind(security::to_hex(sealed.nonce));
  st.bind(std::int64_t{sealed.key_version}).bind(hint).bind(name);
  return st;
}

std::vector<key_row> key_rows(const db_result& r) {
  std::vector<key_row> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i) {
    key_row k;
    k.id = r.at(i, k_id);
    k.provider = r.at(i, k_provider);
    k.name = r.at(i, k_name);
    k.hint = r.at(i, k_hint);
    k.personal = bool_cell(r, i, k_personal);
    k.status = status_cell(r, i, k_status);
    k.status_reason = r.get(i, k_reason);
    k.cooldown_until = r.get(i, k_cooldown);
    k.created_at = r.at(i, k_created);
    out.push_back(std::move(k));
  }
  return out;
}

statement set_status(std::string_view tenant_id, std::string_view id, key_status status,
                     std::string_view reason, std::int64_t cooldown_s) {
  statement st{
      "UPDATE api_keys SET status = $3, status_reason = NULLIF($4, ''), cooldown_until = "
      "CASE WHEN $3 = 'cooldown' THEN now() + make_interval(secs => $5) ELSE NULL END, "
      "updated_at = now() WHERE tenant_id = $1 AND id = $2 AND status <> 'revoked'"};
  st.bind(tenant_id).bind(id).bind(providers::to_string(status)).bind(reason).bind(cooldown_s);
  return st;
}

statement sealed_before(int version, std::int64_t limit) {
  statement st{
      "SELECT tenant_id, id, encode(secret_ciphertext, 'hex'), encode(secret_nonce, 'hex'), "
      "key_version FROM api_keys WHERE key_version < $1 ORDER BY tenant_id, id LIMIT $2"};
  st.bind(std::int64_t{version}).bind(limit);
  return st;
}

std::vector<stale_key_row> stale_key_rows(const db_result& r) {
  std::vector<stale_key_row> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i)
    out.push_back({r.at(i, 0), r.at(i, 1), sealed_cells(r, i, 2)});
  return out;
}

statement reseal(std::string_view tenant_id, std::string_view id,
                 const security::sealed_secret& sealed, int read_version) {
  statement st{
      "UPDATE api_keys SET secret_ciphertext = decode($3, 'hex'), secret_nonce = decode($4, "
      "'hex'), key_version = $5 WHERE tenant_id = $1 AND id = $2 AND key_version = $6"};
  st.bind(tenant_id).bind(id).bind(security::to_hex(sealed.ciphertext));
  st.bind(security::to_hex(sealed.nonce)).bind(std::int64_t{sealed.key_version});
  st.bind(std::int64_t{read_version});
  return st;
}

statement count_all() {
  return statement{"SELECT count(*) FROM api_keys"};
}

}  // namespace nyxgate::storage::api_keys_repository
