#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db_types.hpp"

/// SQL of a project's dashboard: counts, words and notes per month (its latest items are
/// projects_repository's lists). Every statement is scoped by the caller's tenant and counts or
/// lists the tenant's notes and the caller's own private notes, never another member's private
/// ones.
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

}  // namespace nyxgate::storage::project_insight_repository
