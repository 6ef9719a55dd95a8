#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db_types.hpp"
#include "storage/page.hpp"

/// SQL of a tenant's project data: projects, notes, docs, blog posts and a post's source notes.
/// Every statement is scoped by the caller's tenant id, so another tenant's id finds nothing,
/// exactly as a missing id. Notes are tenant-wide but for private ones, which only their
/// author sees: every statement that reads notes takes the caller's user id.
namespace nyxgate::storage::projects_repository {

/// Times are ISO 8601 UTC text, as the JSON replies show them; `created_us` is `created_at` in
/// exact microseconds, for page positions.
struct project_row {
  std::string id;
  std::string slug;
  std::string name;
  std::string description;
  std::optional<std::string> github_repo;  ///< owner/name
  std::optional<std::string> blog_slug;
  std::string created_at;
  std::string updated_at;
  std::int64_t created_us = 0;
};

/// Rows: project_rows (none: no such project in this tenant).
statement find_project(std::string_view tenant_id, std::string_view id);
std::vector<project_row> project_rows(const db_result& r);

/// Rows: project_rows, newest first, at most `page.limit + 1`.
statement list_projects(std::string_view tenant_id, const page_request& page);

struct new_project {
  std::string tenant_id;
  std::string created_by;
  std::string slug;
  std::string name;
  std::string description;
  std::optional<std::string> github_repo;
  std::optional<std::string> blog_slug;
};
/// Rows: project_rows (the new project).
statement create_project(const new_project& p);

/// Absent fields stay; for the optional columns an inner nullopt clears the column.
struct project_change {
  std::optional<std::string> slug;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::optional<std::string>> github_repo;
  std::optional<std::optional<std::string>> blog_slug;
};
/// Rows: project_rows (none: no such project).
statement update_project(std::string_view tenant_id, std::string_view id, const project_change& c);

/// Deletes the project and, by cascade, its notes, docs, posts and sources. Rows: its id
/// (none: no such project).
statement delete_project(std::string_view tenant_id, std::string_view id);

struct note_row {
  std::string id;
  std::string project_id;
  std::optional<std::string> author_id;  ///< null once the author left the tenant
  std::string title;
  std::string body;
  std::string visibility;  ///< tenant | private
  std::optional<std::string> github_sha;
  std::string created_at;
  std::string updated_at;
  std::int64_t created_us = 0;
};
std::vector<note_row> note_rows(const db_result& r);

/// Rows: note_rows of the project the user sees (tenant notes and the user's private ones).
statement list_notes(std::string_view tenant_id, std::string_view user_id,
                     std::string_view project_id, const page_request& page);
/// Rows: note_rows the user sees that no post of the project cites.
statement list_unblogged_notes(std::string_view tenant_id, std::string_view user_id,
                               std::string_view project_id, const page_request& page);
/// Rows: note_rows (none: no such note, or another member's private note).
statement find_note(std::string_view tenant_id, std::string_view user_id, std::string_view id);

struct new_note {
  std::string tenant_id;
  std::string project_id;
  std::string author_id;
  std::string title;
  std::string body;
  std::string visibility;
};
/// Rows: note_rows (none: no such project).
statement create_note(const new_note& n);

struct note_change {
  std::optional<std::string> title;
  std::optional<std::string> body;
  std::optional<std::string> visibility;
};
/// Updates a note the user sees and may edit: their own, or any they see when `admin`.
/// Rows: note_rows (none: not found or not theirs to edit; find_note tells which).
statement update_note(std::string_view tenant_id, std::string_view user_id, bool admin,
                      std::string_view id, const note_change& c);

/// In lists `body` holds the excerpt (the first 200 characters).
struct doc_row {
  std::string id;
  std::string project_id;
  std::string title;
  std::string body;
  std::string created_at;
  std::string updated_at;
  std::int64_t created_us = 0;
};
std::vector<doc_row> doc_rows(const db_result& r);

/// Rows: doc_rows with excerpts.
statement list_docs(std::string_view tenant_id, std::string_view project_id,
                    const page_request& page);
/// Rows: doc_rows (none: no such doc).
statement find_doc(std::string_view tenant_id, std::string_view id);

struct new_doc {
  std::string tenant_id;
  std::string project_id;
  std::optional<std::string> created_by;  ///< none: the creator left (a workflow's product)
  std::string title;
  std::string body;
};
/// Rows: doc_rows (none: no such project).
statement create_doc(const new_doc& d);

struct doc_change {
  std::optional<std::string> title;
  std::optional<std::string> body;
};
/// Rows: doc_rows (none: no such doc).
statement update_doc(std::string_view tenant_id, std::string_view id, const doc_change& c);

struct post_row {
  std::string id;
  std::string project_id;
  std::string slug;
  std::string title;
  std::string body;
  /// The post's sources the reader sees, oldest note first.
  std::vector<std::string> source_note_ids;
  std::optional<std::string> published_at;
  std::string created_at;
  std::string updated_at;
  std::int64_t created_us = 0;
};
std::vector<post_row> post_rows(const db_result& r);

/// Rows: post_rows, drafts included; sources as `user_id` sees them.
statement list_posts(std::string_view tenant_id, std::string_view user_id,
                     std::string_view project_id, const page_request& page);
/// Rows: post_rows (none: no such post).
statement find_post(std::string_view tenant_id, std::string_view user_id, std::string_view id);

/// A post slug made from a title: lower-case ASCII letters and digits, every other run one
/// '-', at most 64 characters; "post" when nothing is left.
std::string slug_from_title(std::string_view title);

struct new_post {
  std::string tenant_id;
  std::string project_id;
  /// The creator, whose view of the notes the sources are checked against; none: the creator
  /// left (a workflow's product), so only tenant notes qualify.
  std::optional<std::string> created_by;
  std::string title;
  std::string body;
  /// The slug as given; when absent, the first free one of `default_slug`, `default_slug-2`
  /// … `-9`, then `default_slug` with a random suffix.
  std::optional<std::string> slug;
  std::string default_slug;
  std::vector<std::string> source_note_ids;  ///< distinct
};
/// Inserts the draft and its sources in one statement, only when the project exists and every
/// source is a note of it that the creator sees. Rows: post_rows (none: the project or a
/// source note is missing; find_project tells which).
statement create_post(const new_post& p);

/// Sets `published_at` unless already set. Rows: post_rows (none: no such post).
statement publish_post(std::string_view tenant_id, std::string_view user_id, std::string_view id);

/// After a unique violation on a project write: whether `slug` is taken by another project of
/// the tenant, and whether `blog_slug` by any other project. Rows: one, (slug_taken,
/// blog_slug_taken) as booleans.
statement project_slugs_taken(std::string_view tenant_id, std::string_view except_id,
                              const std::optional<std::string>& slug,
                              const std::optional<std::string>& blog_slug);
struct slugs_taken {
  bool slug = false;
  bool blog_slug = false;
};
slugs_taken slugs_taken_of(const db_result& r);

}  // namespace nyxgate::storage::projects_repository
