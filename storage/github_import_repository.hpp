#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "storage/db_types.hpp"

/// SQL of projects.importGitHubCommits: a page of commits becomes notes in one statement, each
/// commit once per project (`UNIQUE (tenant_id, project_id, github_sha)`).
namespace nyxgate::storage::github_import_repository {

struct commit_note {
  std::string sha;  ///< 40 lower-case hex digits
  std::string title;
  std::string body;
};

/// Inserts the notes, visible to the tenant and authored by `author_id`, in the given order;
/// commits the project already has are skipped. Rows: one per inserted note (its sha).
statement insert_commit_notes(std::string_view tenant_id, std::string_view project_id,
                              std::string_view author_id, const std::vector<commit_note>& notes);

}  // namespace nyxgate::storage::github_import_repository
