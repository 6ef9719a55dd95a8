#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db_types.hpp"

/// SQL of a tenant's project data: projects, notes, docs, blog posts and a post's source notes.
/// Every statement is scoped by the caller's tenant id, so another tenant's id finds nothing,
/// exactly as a missing id. Notes are tenant-wide but for private ones, which only their
/// author sees: every statement that reads notes takes the caller's user id.
namespace nyxgate::storage::projects_repository {

/// Times are ISO 8601 UTC text, as the JSON replies show them.
struct project_row {
  std::string id;
  std::string slug;
  std::string name;
  std::string description;
  std::optional<std::string> github_repo;  ///< owner/name
  std::optional<std::string> blog_slug;
  std::string created_at;
  std::string updated_at;
};

/// Rows: project_rows (none: no such project in this tenant).
statement find_project(std::string_view tenant_id, std::string_view id);
std::vector<project_row> project_rows(const db_result& r);

}  // namespace nyxgate::storage::projects_repository
