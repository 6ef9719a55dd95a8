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

statement latest_notes(std::string_view tenant_id, std::string_view project_id,
                       std::string_view user_id, std::int64_t limit) {
  statement st{
      "SELECT n.id, n.project_id, n.author_id, n.title, n.body, n.visibility, "
      "n.github_sha, " +
      iso_time("n.created_at") + ", " + iso_time("n.updated_at") + " FROM " +
      std::string{visible_notes} + " ORDER BY n.created_at DESC, n.id DESC LIMIT $4"};
  st.bind(tenant_id).bind(project_id).bind(user_id).bind(limit);
  return st;
}

std::vector<note_row> note_rows(const db_result& r) {
  std::vector<note_row> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i)
    out.push_back(note_row{r.at(i, 0), r.at(i, 1), r.get(i, 2), r.at(i, 3), r.at(i, 4), r.at(i, 5),
                           r.get(i, 6), r.at(i, 7), r.at(i, 8)});
  return out;
}

statement latest_docs(std::string_view tenant_id, std::string_view project_id, std::int64_t limit) {
  statement st{"SELECT d.id, d.project_id, d.title, left(d.body, 200), " +
               iso_time("d.created_at") + ", " + iso_time("d.updated_at") +
               " FROM docs d WHERE d.tenant_id = $1 AND d.project_id = $2 "
               "ORDER BY d.created_at DESC, d.id DESC LIMIT $3"};
  st.bind(tenant_id).bind(project_id).bind(limit);
  return st;
}

std::vector<doc_summary_row> doc_summary_rows(const db_result& r) {
  std::vector<doc_summary_row> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i)
    out.push_back(
        doc_summary_row{r.at(i, 0), r.at(i, 1), r.at(i, 2), r.at(i, 3), r.at(i, 4), r.at(i, 5)});
  return out;
}

statement latest_posts(std::string_view tenant_id, std::string_view project_id,
                       std::string_view user_id, std::int64_t limit) {
  // The sources as one space-separated cell: uuids hold no spaces.
  statement st{
      "SELECT b.id, b.project_id, b.slug, b.title, b.body, "
      "coalesce((SELECT string_agg(s.note_id::text, ' ' ORDER BY s.note_id) "
      "FROM blog_post_sources s JOIN notes n ON n.tenant_id = s.tenant_id AND n.id = s.note_id "
      "WHERE s.tenant_id = $1 AND s.post_id = b.id "
      "AND (n.visibility = 'tenant' OR n.author_id = $3)), ''), " +
      iso_time("b.published_at") + ", " + iso_time("b.created_at") + ", " +
      iso_time("b.updated_at") +
      " FROM blog_posts b WHERE b.tenant_id = $1 AND b.project_id = $2 "
      "ORDER BY b.created_at DESC, b.id DESC LIMIT $4"};
  st.bind(tenant_id).bind(project_id).bind(user_id).bind(limit);
  return st;
}

std::vector<post_row> post_rows(const db_result& r) {
  std::vector<post_row> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i) {
    post_row p{r.at(i, 0), r.at(i, 1),  r.at(i, 2), r.at(i, 3), r.at(i, 4),
               {},         r.get(i, 6), r.at(i, 7), r.at(i, 8)};
    std::string_view ids = r.at(i, 5);
    while (!ids.empty()) {
      auto space = ids.find(' ');
      p.source_note_ids.emplace_back(ids.substr(0, space));
      ids = space == std::string_view::npos ? std::string_view{} : ids.substr(space + 1);
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace nyxgate::storage::project_insight_repository
