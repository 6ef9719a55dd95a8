#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db_types.hpp"

/// SQL of the identity aggregate (tenants, users, memberships, access tokens). Every statement
/// that touches tenant-owned rows is scoped by the caller's tenant id. Revocations, removals
/// and role changes notify `principal_change_channel` in the transaction that makes them.
namespace nyxgate::storage::identity_repository {

/// Times are ISO 8601 UTC text, as the JSON replies show them.
struct tenant_user_row {
  std::string tenant_id;
  std::string slug;
  std::string tenant_name;
  std::string user_id;
  std::string email;
  std::string member_name;
};
/// Rows: tenant_user_row (none: not a member of this tenant).
statement tenant_with_user(std::string_view tenant_id, std::string_view user_id);
std::optional<tenant_user_row> tenant_user_of(const db_result& r);

/// The name is the member's name in this tenant: what the admin gave, or the member chose when
/// redeeming the invite.
struct member_row {
  std::string user_id;
  std::string email;
  std::string name;
  std::string role;
  std::string created_at;
};
/// Rows: member_rows, oldest membership first.
statement list_members(std::string_view tenant_id);
std::vector<member_row> member_rows(const db_result& r);

/// Rows: the role, read with `text_of` (none: not a member of this tenant).
statement member_role(std::string_view tenant_id, std::string_view user_id);

struct added_member_row {
  std::string user_id;
  std::string role;
  std::string invite_expires_at;
};
/// Adds the member with an invite (`code_hash`, valid `invite_ttl_s`). A user known from another
/// tenant keeps their account, but nothing of it is returned or shown here.
/// Rows: added_member_row; unique violation when already a member.
statement add_member(std::string_view tenant_id, std::string_view email, std::string_view name,
                     std::string_view role, std::string_view code_hash, std::int64_t invite_ttl_s);
std::optional<added_member_row> added_member_of(const db_result& r);

/// A fresh invite for a member who has not signed in yet (replacing any earlier code).
/// Rows: the invite's expiry, read with `text_of` (none: not a member, or signed in already).
statement invite_member(std::string_view tenant_id, std::string_view user_id,
                        std::string_view code_hash, std::int64_t invite_ttl_s);

struct redeemed_row {
  std::string token_id;
  std::string tenant_id;
  std::string slug;
  std::string tenant_name;
  std::string user_id;
  std::string email;
  std::string member_name;
  std::string role;
};
/// Trades a live invite for the member's first token, once; the member's name in the tenant
/// becomes `name`. Rows: redeemed_row (none: unknown, used or expired code).
statement redeem_invite(std::string_view code_hash, std::string_view name,
                        std::string_view token_hash);
std::optional<redeemed_row> redeemed_of(const db_result& r);

/// Transaction: locks the tenant's owners, then changes the role unless that would leave no
/// owner, and announces it. `changed` says whether it did (else: refused or changed
/// concurrently).
db_batch set_member_role(std::string_view tenant_id, std::string_view user_id,
                         std::string_view expected_role, std::string_view new_role);
/// Transaction: removes the membership (unless it is the last owner), revokes the user's
/// tokens in this tenant and announces it. `changed` says whether it did.
db_batch remove_member(std::string_view tenant_id, std::string_view user_id,
                       std::string_view expected_role);
/// The reply of set_member_role or remove_member: true when the member was changed.
bool changed(const db_reply& reply);

struct token_row {
  std::string id;
  std::string name;
  std::string created_at;
  std::optional<std::string> last_used_at;
  std::optional<std::string> revoked_at;
};
/// Rows: token_rows, newest first.
statement list_tokens(std::string_view tenant_id, std::string_view user_id);
/// Rows: the created token_row.
statement create_token(std::string_view tenant_id, std::string_view user_id, std::string_view name,
                       std::string_view token_hash);
std::vector<token_row> token_rows(const db_result& r);
/// Transaction: revokes the token and announces it. `revoked` says whether it did (else: not
/// found or not allowed).
db_batch revoke_token(std::string_view tenant_id, std::string_view token_id,
                      std::string_view user_id, bool any_user);
bool revoked(const db_reply& reply);

/// The first cell of a one-column result (none: no row).
std::optional<std::string> text_of(const db_result& r);

/// Rows: the number of tenants, read with `count_of`.
statement count_tenants();

/// An unrevoked token's principal. `token_hash` is returned for the constant-time comparison.
struct token_principal_row {
  std::string tenant_id;
  std::string user_id;
  std::string token_id;
  std::string role;
  std::string token_hash;
};
/// Rows: token_principal_row (none: unknown or revoked token, or its member is gone).
statement token_principal(std::string_view token_hash);
std::optional<token_principal_row> token_principal_of(const db_result& r);

struct token_use {
  std::string_view token_id;
  std::string_view tenant_id;
  std::int64_t unix_s = 0;
};
/// One statement for many tokens' last use; a later use already stored is kept.
statement touch_tokens(const std::vector<token_use>& uses);

/// What `nyxgate init` finds for a tenant slug and an owner's email.
struct init_row {
  std::string tenant_id;
  std::string tenant_name;
  std::optional<std::string> role;       ///< the email's role in the tenant, if a member
  std::optional<std::string> user_name;  ///< the email's user name, if a user
};
/// Rows: init_row (none: no such tenant).
statement tenant_for_init(std::string_view slug, std::string_view email);
std::optional<init_row> init_row_of(const db_result& r);
/// Transaction: the user (kept if the email is known), the tenant, the owner's membership,
/// the tenant's LLM defaults and the owner's first token.
db_batch create_tenant_with_owner(std::string_view slug, std::string_view tenant_name,
                                  std::string_view email, std::string_view owner_name,
                                  std::string_view token_hash);

}  // namespace nyxgate::storage::identity_repository
