#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db_types.hpp"

/// SQL of a project's dashboard: counts, words, notes per month, the latest notes, docs and
/// posts. Every statement is scoped by the caller's tenant and counts or lists the tenant's
/// notes and the caller's own private notes, never another member's private ones.
namespace nyxgate::storage::project_insight_repository {

struct project_totals {
  std::int64_t notes = 0;
  std::int64_t docs = 0;
  std::int64_t published_posts = 0;
  std::int64_t draft_posts = 0;
  std::int64_t note_words = 0;  ///< words of titles and bodies: runs of non-space characters
  std::int64_t doc_words = 0;
  std::int64_t post_words = 0;
  std::string last_activity_at;  ///< the newest change of the project or anything in it
};

/// Rows: totals_of (none: no such project in this tenant).
statement totals(std::string_view tenant_id, std::string_view project_id, std::string_view user_id);
std::optional<project_totals> totals_of(const db_result& r);

struct month_count {
  std::string month;  ///< YYYY-MM, UTC
  std::int64_t count = 0;
};
/// Rows: month_counts, oldest month first, months without notes left out.
statement notes_per_month(std::string_view tenant_id, std::string_view project_id,
                          std::string_view user_id);
std::vector<month_count> month_counts(const db_result& r);

struct note_row {
  std::string id, project_id;
  std::optional<std::string> author_id;
  std::string title, body, visibility;
  std::optional<std::string> github_sha;
  std::string created_at, updated_at;
};
/// Rows: note_rows, newest first, at most `limit`.
statement latest_notes(std::string_view tenant_id, std::string_view project_id,
                       std::string_view user_id, std::int64_t limit);
std::vector<note_row> note_rows(const db_result& r);

struct doc_summary_row {
  std::string id, project_id, title, excerpt, created_at, updated_at;
};
/// Rows: doc_summary_rows, newest first, at most `limit`; the excerpt is a body's first 200
/// characters.
statement latest_docs(std::string_view tenant_id, std::string_view project_id, std::int64_t limit);
std::vector<doc_summary_row> doc_summary_rows(const db_result& r);

struct post_row {
  std::string id, project_id, slug, title, body;
  std::vector<std::string> source_note_ids;  ///< the sources the caller sees
  std::optional<std::string> published_at;   ///< none: a draft
  std::string created_at, updated_at;
};
/// Rows: post_rows, newest first, at most `limit`, drafts included.
statement latest_posts(std::string_view tenant_id, std::string_view project_id,
                       std::string_view user_id, std::int64_t limit);
std::vector<post_row> post_rows(const db_result& r);

}  // namespace nyxgate::storage::project_insight_repository
