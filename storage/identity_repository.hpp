#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "storage/db_types.hpp"

/// SQL of the identity aggregate (tenants, users, memberships, access tokens). Every statement
/// that touches tenant-owned rows is scoped by the caller's tenant id.
namespace nyxgate::storage::identity_repository {

/// Revocations, removals and role changes announce themselves here (payload: the tenant id) in
/// the transaction that makes them, so every node drops that tenant's cached principals.
inline constexpr std::string_view principal_change_channel = "nyxgate_principal_changed";

/// columns: id, slug, name, user_id, email, user_name
statement tenant_with_user(std::string_view tenant_id, std::string_view user_id);
/// columns: user_id, email, name, role, created_at. The name is the member's name in this
/// tenant: what the admin gave, or the member chose when redeeming the invite.
statement list_members(std::string_view tenant_id);
/// columns: role (no row: not a member of this tenant)
statement member_role(std::string_view tenant_id, std::string_view user_id);
/// Adds the member with an invite (`code_hash`, valid `invite_ttl_s`). A user known from another
/// tenant keeps their account, but nothing of it is returned or shown here.
/// columns: user_id, role, invite expires_at; unique violation when already a member
statement add_member(std::string_view tenant_id, std::string_view email, std::string_view name,
                     std::string_view role, std::string_view code_hash, std::int64_t invite_ttl_s);
/// A fresh invite for a member who has not signed in yet (replacing any earlier code).
/// columns: expires_at (no row: not a member, or signed in already)
statement invite_member(std::string_view tenant_id, std::string_view user_id,
                        std::string_view code_hash, std::int64_t invite_ttl_s);
/// Trades a live invite for the member's first token, once; the member's name in the tenant
/// becomes `name`. columns: token id, tenant id, slug, tenant name, user id, email, member
/// name, role (no row: unknown, used or expired code)
statement redeem_invite(std::string_view code_hash, std::string_view name,
                        std::string_view token_hash);
/// Transaction: locks the tenant's owners, then changes the role unless that would leave no
/// owner, and announces it. Result 1: user_id, role (no row: refused or changed concurrently).
db_batch set_member_role(std::string_view tenant_id, std::string_view user_id,
                         std::string_view expected_role, std::string_view new_role);
/// Transaction: removes the membership (unless it is the last owner), revokes the user's
/// tokens in this tenant and announces it. Result 1: removed user_id (no row: refused).
db_batch remove_member(std::string_view tenant_id, std::string_view user_id,
                       std::string_view expected_role);
/// columns: id, name, created_at, last_used_at, revoked_at
statement list_tokens(std::string_view tenant_id, std::string_view user_id);
/// columns: id, name, created_at
statement create_token(std::string_view tenant_id, std::string_view user_id, std::string_view name,
                       std::string_view token_hash);
/// Transaction: revokes the token and announces it. Result 1: id (no row: not found or not
/// allowed).
db_batch revoke_token(std::string_view tenant_id, std::string_view token_id,
                      std::string_view user_id, bool any_user);

/// ISO 8601 UTC rendering of a timestamptz column, for JSON replies.
std::string iso_time(std::string_view column);

}  // namespace nyxgate::storage::identity_repository
