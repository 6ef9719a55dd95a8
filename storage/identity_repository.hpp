#pragma once

#include <string>
#include <string_view>

#include "storage/db_types.hpp"

/// SQL of the identity aggregate (tenants, users, memberships, access tokens). Every statement
/// that touches tenant-owned rows is scoped by the caller's tenant id.
namespace nyxgate::storage::identity_repository {

/// columns: id, slug, name, user_id, email, user_name
statement tenant_with_user(std::string_view tenant_id, std::string_view user_id);
/// columns: user_id, email, name, role, created_at
statement list_members(std::string_view tenant_id);
/// columns: role (no row: not a member of this tenant)
statement member_role(std::string_view tenant_id, std::string_view user_id);
/// columns: user_id, email, name, role; unique violation when already a member
statement add_member(std::string_view tenant_id, std::string_view email, std::string_view name,
                     std::string_view role);
/// Transaction: locks the tenant's owners, then changes the role unless that would leave no
/// owner. Last result: user_id, role (no row: refused or changed concurrently).
db_batch set_member_role(std::string_view tenant_id, std::string_view user_id,
                         std::string_view expected_role, std::string_view new_role);
/// Transaction: removes the membership (unless it is the last owner) and revokes the user's
/// tokens in this tenant. Result 1: removed user_id (no row: refused).
db_batch remove_member(std::string_view tenant_id, std::string_view user_id,
                       std::string_view expected_role);
/// columns: id, name, created_at, last_used_at, revoked_at
statement list_tokens(std::string_view tenant_id, std::string_view user_id);
/// columns: id, name, created_at
statement create_token(std::string_view tenant_id, std::string_view user_id, std::string_view name,
                       std::string_view token_hash);
/// columns: id (no row: not found or not allowed)
statement revoke_token(std::string_view tenant_id, std::string_view token_id,
                       std::string_view user_id, bool any_user);

/// ISO 8601 UTC rendering of a timestamptz column, for JSON replies.
std::string iso_time(std::string_view column);

}  // namespace nyxgate::storage::identity_repository
