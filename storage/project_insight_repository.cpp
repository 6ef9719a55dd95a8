#include "storage/project_insight_repository.hpp"

#include "storage/detail/cells.hpp"

namespace nyxgate::storage::project_insight_repository {

namespace {

using detail::int_cell;
using detail::iso_time;

/// The notes a caller sees: the tenant's and their own private ones.
constexpr std::string_view visible_notes =
    "notes n WHERE n.tenant_id = $1 AND n.project_id = $2 "
    "AND (n.visibility = 'tenant' OR n.author_id = $3)";

std::string words(std::string_view column) {
  return "coalesce(sum(regexp_count(" + std::string{column} + ", '\\S+')), 0)";
}

}  // namespace

statement totals(std::string_view tenant_id, std::string_view project_id,
                 std::string_view user_id) {
  std::string vis{visible_notes};
  statement st{
      "WITH n AS (SELECT count(*) AS c, " + words("n.title") + " + " + words("n.body") +
      " AS w, max(n.updated_at) AS at FROM " + vis + "), d AS (SELECT count(*) AS c, " +
      words("d.title") + " + " + words("d.body") +
      " AS w, max(d.updated_at) AS at FROM docs d WHERE d.tenant_id = $1 AND d.project_id = $2"
      "), b AS (SELECT count(*) FILTER (WHERE b.published_at IS NOT NULL) AS published, "
      "count(*) FILTER (WHERE b.published_at IS NULL) AS draft, " +
      words("b.title") + " + " + words("b.body") +
      " AS w, max(b.updated_at) AS at FROM blog_posts b WHERE b.tenant_id = $1 AND "
      "b.project_id = $2) "
      "SELECT n.c, d.c, b.published, b.draft, n.w, d.w, b.w, " +
      iso_time("GREATEST(p.updated_at, n.at, d.at, b.at)") +
      " FROM projects p, n, d, b WHERE p.tenant_id = $1 AND p.id = $2"};
  st.bind(tenant_id).bind(project_id).bind(user_id);
  return st;
}

std::optional<project_totals> totals_of(const db_result& r) {
  if (r.empty()) return std::nullopt;
  return project_totals{int_cell(r, 0, 0), int_cell(r, 0, 1), int_cell(r, 0, 2), int_cell(r, 0, 3),
                        int_cell(r, 0, 4), int_cell(r, 0, 5), int_cell(r, 0, 6), r.at(0, 7)};
}

statement notes_per_month(std::string_view tenant_id, std::string_view project_id,
                          std::string_view user_id) {
  statement st{
      "SELECT to_char(date_trunc('month', n.created_at AT TIME ZONE 'UTC'), 'YYYY-MM') "
      "AS month, count(*) FROM " +
      std::string{visible_notes} + " GROUP BY month ORDER BY month"};
  st.bind(tenant_id).bind(project_id).bind(user_id);
  return st;
}

std::vector<month_count> month_counts(const db_result& r) {
  std::vector<month_count> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i) out.push_back({r.at(i, 0), int_cell(r, i, 1)});
  return out;
}

}  // namespace nyxgate::storage::project_insight_repository
