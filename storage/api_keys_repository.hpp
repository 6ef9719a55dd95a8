#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "providers/key_status.hpp"
#include "security/key_vault.hpp"
#include "storage/db_types.hpp"

/// SQL of `api_keys`: a tenant's provider keys, sealed under the master key. Every statement is
/// scoped by the tenant id, and none changes the status of a revoked key: revocation is final.
namespace nyxgate::storage::api_keys_repository {

/// A key as its owner sees it: never the secret.
struct key_row {
  std::string id;
  std::string provider;
  std::string name;
  std::string hint;
  bool personal = false;
  providers::key_status status = providers::key_status::active;
  std::optional<std::string> status_reason;
  std::optional<std::string> cooldown_until;  ///< ISO 8601 UTC
  std::string created_at;                     ///< ISO 8601 UTC
};

/// A key with its owner and sealed secret, for the code that opens it (the tenant actor, a
/// probe), and its times as numbers for resolution.
struct sealed_key_row {
  key_row key;
  std::optional<std::string> user_id;  ///< set: the personal key of that user
  std::int64_t cooldown_until_s = 0;   ///< unix seconds; 0: none
  std::int64_t created_at_us = 0;      ///< unix microseconds, orders "newest first"
  security::sealed_secret sealed;
};

/// A key sealed under an older master key version, for the rotation.
struct stale_key_row {
  std::string tenant_id;
  std::string id;
  security::sealed_secret sealed;
};

/// Rows: sealed_key_rows. The tenant's keys but the revoked ones (never candidates).
statement tenant_keys(std::string_view tenant_id);
/// Rows: sealed_key_rows. One key the user may see: a tenant key or their own personal key.
statement visible_sealed_key(std::string_view tenant_id, std::string_view id,
                             std::string_view user_id);
std::vector<sealed_key_row> sealed_key_rows(const db_result& r);

/// Rows: key_rows, newest first. The tenant's keys and the user's own personal keys.
statement list_visible(std::string_view tenant_id, std::string_view user_id);
/// Rows: key_rows (none: the user may not see such a key).
statement visible_key(std::string_view tenant_id, std::string_view id, std::string_view user_id);

struct new_key {
  std::string_view tenant_id;
  std::string_view id;
  std::optional<std::string> user_id;  ///< set: a personal key of that user
  std::string_view provider;
  std::string_view name;
  const security::sealed_secret& sealed;
  std::string_view hint;
  std::string_view created_by;
};
/// Rows: the created key_row.
statement create(const new_key& k);
/// Rows: the removed key's id (none: not visible to the user).
statement remove(std::string_view tenant_id, std::string_view id, std::string_view user_id);
/// A new secret (and name, when given); a key that is not revoked starts `active` again.
/// Rows: the key_row (none: not visible to the user).
statement replace_secret(std::string_view tenant_id, std::string_view id, std::string_view user_id,
                         const security::sealed_secret& sealed, std::string_view hint,
                         const std::optional<std::string>& name);
std::vector<key_row> key_rows(const db_result& r);

/// The health a call or a probe found; `cooldown` lasts `cooldown_s` from the database's
/// clock. A revoked key is left as it is (affected: 0).
statement set_status(std::string_view tenant_id, std::string_view id, providers::key_status status,
                     std::string_view reason, std::int64_t cooldown_s);

/// Rows: stale_key_rows, at most `limit`, sealed under a key version below `version`.
statement sealed_before(int version, std::int64_t limit);
std::vector<stale_key_row> stale_key_rows(const db_result& r);
/// The key re-sealed, unless its secret changed since it was read (affected: 0 then).
statement reseal(std::string_view tenant_id, std::string_view id,
                 const security::sealed_secret& sealed, int read_version);

/// Rows: the number of stored keys, read with `count_of`.
statement count_all();

}  // namespace nyxgate::storage::api_keys_repository
