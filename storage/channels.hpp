#pragma once

#include <string_view>

#include "storage/db_types.hpp"

/// The NOTIFY channels through which one node's writes reach the others' caches.
namespace nyxgate::storage {

/// A tenant's keys or LLM defaults changed (payload: the tenant id).
inline constexpr std::string_view tenant_change_channel = "nyxgate_tenant_changed";
/// The master key file gained or retired a key (payload: the newest key version).
inline constexpr std::string_view master_key_channel = "nyxgate_master_key_changed";
/// Revocations, removals and role changes (payload: the tenant id): every node drops that
/// tenant's cached principals.
inline constexpr std::string_view principal_change_channel = "nyxgate_principal_changed";

/// A project's public blog changed: a post published, a published post changed, the project's
/// name or blog slug changed, the project deleted (payload: the project id). Every node drops
/// the pages it rendered for that project.
inline constexpr std::string_view blog_change_channel = "nyxgate_blog_changed";

/// Workflow items became claimable (a run created or rerun; payload: the run id): idle
/// pipeline engines claim at once instead of at their next poll.
inline constexpr std::string_view pipeline_wake_channel = "nyxgate_pipeline_wake";
/// A run's items changed status (payload: the run id): progress subscribers read its counts.
inline constexpr std::string_view pipeline_progress_channel = "nyxgate_pipeline_progress";
/// A run was cancelled (payload: the run id): every node stops that run's running calls.
inline constexpr std::string_view pipeline_cancel_channel = "nyxgate_pipeline_cancel";

/// Sent when the transaction it is part of commits.
statement notify(std::string_view channel, std::string_view payload);

/// LISTEN on every channel above, for a node's listener connection.
db_batch listen_all();

}  // namespace nyxgate::storage
