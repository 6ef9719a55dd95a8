#include "storage/projects_repository.hpp"

#include "storage/detail/cells.hpp"

namespace nyxgate::storage::projects_repository {

using detail::bool_cell;
using detail::int_cell;
using detail::iso_time;

namespace {

std::string project_columns() {
  return "p.id, p.slug, p.name, p.description, p.github_repo, p.blog_slug, " +
         iso_time("p.created_at") + ", " + iso_time("p.updated_at") + ", " + created_us_column("p");
}

std::string note_columns() {
  return "n.id, n.project_id, n.author_id, n.title, n.body, n.visibility, n.github_sha, " +
         iso_time("n.created_at") + ", " + iso_time("n.updated_at") + ", " + created_us_column("n");
}

/// `body` is the whole body, or the list excerpt.
std::string doc_columns(std::string_view body) {
  return "d.id, d.project_id, d.title, " + std::string{body} + ", " + iso_time("d.created_at") +
         ", " + iso_time("d.updated_at") + ", " + created_us_column("d");
}

/// A note the user sees: a tenant note, or one of the user's own private notes. `user` is the
/// statement's parameter holding the user id ("$3").
std::string visible_note(std::string_view n, std::string_view user) {
  return "(" + std::string{n} + ".visibility = 'tenant' OR " + std::string{n} +
         ".author_id = " + std::string{user} + ")";
}

/// `sources` is the comma-separated ids of the post's sources as the reader sees them.
std::string post_columns(std::string_view sources) {
  return "b.id, b.project_id, b.slug, b.title, b.body, " + std::string{sources} + ", " +
         iso_time("b.published_at") + ", " + iso_time("b.created_at") + ", " +
         iso_time("b.updated_at") + ", " + created_us_column("b");
}

/// The sources of post `b` the user (parameter `user`) sees, oldest note first.
std::string visible_sources(std::string_view user) {
  return "(SELECT string_agg(n.id::text, ',' ORDER BY n.created_at, n.id) "
         "FROM blog_post_sources s JOIN notes n ON n.tenant_id = s.tenant_id AND n.id = s.note_id "
         "WHERE s.tenant_id = b.tenant_id AND s.post_id = b.id AND " +
         visible_note("n", user) + ")";
}

/// `{a,b}`: a PostgreSQL array literal of UUIDs (checked by the caller), for `$n::uuid[]`.
std::string uuid_array(const std::vector<std::string>& ids) {
  std::string out = "{";
  for (const auto& id : ids) {
    if (out.size() > 1) out += ',';
    out += id;
  }
  return out + "}";
}

std::vector<std::string> split_ids(const std::optional<std::string>& joined) {
  std::vector<std::string> out;
  if (!joined || joined->empty()) return out;
  std::size_t start = 0;
  while (true) {
    auto comma = joined->find(',', start);
    out.push_back(joined->substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

/// The first free slug of the project among `base`, `base-2` … `base-9`, then `base` with six
/// random hex digits. `base` is parameter `$base`, tenant and project `$1` and `$2`.
std::string free_post_slug(std::string_view base) {
  const std::string b{base};
  return "SELECT c.v FROM (SELECT " + b +
         "::text AS v, 1 AS o "
         "UNION ALL SELECT rtrim(left(" +
         b +
         ", 62), '-') || '-' || g, g "
         "FROM generate_series(2, 9) g "
         "UNION ALL SELECT rtrim(left(" +
         b +
         ", 57), '-') || '-' || "
         "substr(md5(random()::text), 1, 6), 10) c "
         "WHERE NOT EXISTS (SELECT 1 FROM blog_posts x WHERE x.tenant_id = $1 AND "
         "x.project_id = $2 AND x.slug = c.v) ORDER BY c.o LIMIT 1";
}

/// The longest slug the schema accepts (blog_posts.slug, and `free_post_slug`'s suffixes).
constexpr std::size_t max_post_slug = 64;

bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace

std::string slug_from_title(std::string_view title) {
  std::string out;
  for (char c : title) {
    if (out.size() == max_post_slug) break;
    char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower_alnum(lower))
      out += lower;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? std::string{"post"} : out;
}

statement find_project(std::string_view tenant_id, std::string_view id) {
  statement st{"SELECT " + project_columns() +
               " FROM projects p WHERE p.tenant_id = $1 AND p.id = $2"};
  st.bind(tenant_id).bind(id);
  return st;
}

std::vector<project_row> project_rows(const db_result& r) {
  std::vector<project_row> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i)
    out.push_back(project_row{r.at(i, 0), r.at(i, 1), r.at(i, 2), r.at(i, 3), r.get(i, 4),
                              r.get(i, 5), r.at(i, 6), r.at(i, 7), int_cell(r, i, 8)});
  return out;
}

statement list_projects(std::string_view tenant_id, const page_request& page) {
  statement st;
  st.bind(tenant_id);
  st.sql = "SELECT " + project_columns() + " FROM projects p WHERE p.tenant_id = $1";
  st.sql += page_clause(st, page, "p");
  return st;
}

statement create_project(const new_project& p) {
  statement st{
      "INSERT INTO projects AS p (tenant_id, created_by, slug, name, description, "
      "github_repo, blog_slug) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING " +
      project_columns()};
  st.bind(p.tenant_id).bind(p.created_by).bind(p.slug).bind(p.name).bind(p.description);
  st.bind(p.github_repo).bind(p.blog_slug);
  return st;
}

statement update_project(std::string_view tenant_id, std::string_view id, const project_change& c) {
  statement st{
      "UPDATE projects p SET slug = coalesce($3, p.slug), name = coalesce($4, p.name), "
      "description = coalesce($5, p.description), "
      "github_repo = CASE WHEN $6::boolean THEN $7 ELSE p.github_repo END, "
      "blog_slug = CASE WHEN $8::boolean THEN $9 ELSE p.blog_slug END, "
      "updated_at = clock_timestamp() WHERE p.tenant_id = $1 AND p.id = $2 RETURNING " +
      project_columns()};
  st.bind(tenant_id).bind(id).bind(c.slug).bind(c.name).bind(c.description);
  st.bind(c.github_repo.has_value()).bind(c.github_repo.value_or(std::nullopt));
  st.bind(c.blog_slug.has_value()).bind(c.blog_slug.value_or(std::nullopt));
  return st;
}

statement delete_project(std::string_view tenant_id, std::string_view id) {
  statement st{"DELETE FROM projects p WHERE p.tenant_id = $1 AND p.id = $2 RETURNING p.id"};
  st.bind(tenant_id).bind(id);
  return st;
}

statement project_slugs_taken(std::string_view tenant_id, std::string_view except_id,
                              const std::optional<std::string>& slug,
                              const std::optional<std::string>& blog_slug) {
  statement st{
      "SELECT EXISTS (SELECT 1 FROM projects p WHERE p.tenant_id = $1 AND p.slug = $3 AND "
      "p.id IS DISTINCT FROM $2::uuid), "
      "EXISTS (SELECT 1 FROM projects p WHERE p.blog_slug = $4 AND "
      "(p.tenant_id, p.id) IS DISTINCT FROM ($1::uuid, $2::uuid))"};
  st.bind(tenant_id);
  if (except_id.empty())
    st.bind_null();
  else
    st.bind(except_id);
  st.bind(slug).bind(blog_slug);
  return st;
}

slugs_taken slugs_taken_of(const db_result& r) {
  if (r.empty() || r.is_null(0, 0) || r.is_null(0, 1)) return {};
  return {bool_cell(r, 0, 0), bool_cell(r, 0, 1)};
}

std::vector<note_row> note_rows(const db_result& r) {
  std::vector<note_row> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i)
    out.push_back(note_row{r.at(i, 0), r.at(i, 1), r.get(i, 2), r.at(i, 3), r.at(i, 4), r.at(i, 5),
                           r.get(i, 6), r.at(i, 7), r.at(i, 8), int_cell(r, i, 9)});
  return out;
}

statement list_notes(std::string_view tenant_id, std::string_view user_id,
                     std::string_view project_id, const page_request& page) {
  statement st;
  st.bind(tenant_id).bind(project_id).bind(user_id);
  st.sql = "SELECT " + note_columns() +
           " FROM notes n WHERE n.tenant_id = $1 AND n.project_id = $2 AND " +
           visible_note("n", "$3");
  st.sql += page_clause(st, page, "n");
  return st;
}

statement list_unblogged_notes(std::string_view tenant_id, std::string_view user_id,
                               std::string_view project_id, const page_request& page) {
  statement st;
  st.bind(tenant_id).bind(project_id).bind(user_id);
  st.sql = "SELECT " + note_columns() +
           " FROM notes n WHERE n.tenant_id = $1 AND n.project_id = $2 AND " +
           visible_note("n", "$3") +
           " AND NOT EXISTS (SELECT 1 FROM blog_post_sources s WHERE s.tenant_id = n.tenant_id "
           "AND s.note_id = n.id)";
  st.sql += page_clause(st, page, "n");
  return st;
}

statement find_note(std::string_view tenant_id, std::string_view user_id, std::string_view id) {
  statement st{"SELECT " + note_columns() +
               " FROM notes n WHERE n.tenant_id = $1 AND n.id = $2 AND " + visible_note("n", "$3")};
  st.bind(tenant_id).bind(id).bind(user_id);
  return st;
}

statement create_note(const new_note& n) {
  statement st{
      "INSERT INTO notes AS n (tenant_id, project_id, author_id, title, body, visibility) "
      "SELECT p.tenant_id, p.id, $3, $4, $5, $6 FROM projects p "
      "WHERE p.tenant_id = $1 AND p.id = $2 RETURNING " +
      note_columns()};
  st.bind(n.tenant_id).bind(n.project_id).bind(n.author_id).bind(n.title).bind(n.body);
  st.bind(n.visibility);
  return st;
}

statement update_note(std::string_view tenant_id, std::string_view user_id, bool admin,
                      std::string_view id, const note_change& c) {
  statement st{
      "UPDATE notes n SET title = coalesce($4, n.title), body = coalesce($5, n.body), "
      "visibility = coalesce($6, n.visibility), updated_at = clock_timestamp() "
      "WHERE n.tenant_id = $1 AND n.id = $2 AND " +
      visible_note("n", "$3") + " AND (n.author_id = $3 OR $7::boolean) RETURNING " +
      note_columns()};
  st.bind(tenant_id).bind(id).bind(user_id).bind(c.title).bind(c.body).bind(c.visibility);
  st.bind(admin);
  return st;
}

std::vector<doc_row> doc_rows(const db_result& r) {
  std::vector<doc_row> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i)
    out.push_back(doc_row{r.at(i, 0), r.at(i, 1), r.at(i, 2), r.at(i, 3), r.at(i, 4), r.at(i, 5),
                          int_cell(r, i, 6)});
  return out;
}

statement list_docs(std::string_view tenant_id, std::string_view project_id,
                    const page_request& page) {
  statement st;
  st.bind(tenant_id).bind(project_id);
  st.sql = "SELECT " + doc_columns("left(d.body, 200)") +
           " FROM docs d WHERE d.tenant_id = $1 AND d.project_id = $2";
  st.sql += page_clause(st, page, "d");
  return st;
}

statement find_doc(std::string_view tenant_id, std::string_view id) {
  statement st{"SELECT " + doc_columns("d.body") +
               " FROM docs d WHERE d.tenant_id = $1 AND d.id = $2"};
  st.bind(tenant_id).bind(id);
  return st;
}

statement create_doc(const new_doc& d) {
  statement st{
      "INSERT INTO docs AS d (tenant_id, project_id, created_by, title, body) "
      "SELECT p.tenant_id, p.id, $3, $4, $5 FROM projects p "
      "WHERE p.tenant_id = $1 AND p.id = $2 RETURNING " +
      doc_columns("d.body")};
  st.bind(d.tenant_id).bind(d.project_id).bind(d.created_by).bind(d.title).bind(d.body);
  return st;
}

statement update_doc(std::string_view tenant_id, std::string_view id, const doc_change& c) {
  statement st{
      "UPDATE docs d SET title = coalesce($3, d.title), body = coalesce($4, d.body), "
      "updated_at = clock_timestamp() WHERE d.tenant_id = $1 AND d.id = $2 RETURNING " +
      doc_columns("d.body")};
  st.bind(tenant_id).bind(id).bind(c.title).bind(c.body);
  return st;
}

std::vector<post_row> post_rows(const db_result& r) {
  std::vector<post_row> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i)
    out.push_back(post_row{r.at(i, 0), r.at(i, 1), r.at(i, 2), r.at(i, 3), r.at(i, 4),
                           split_ids(r.get(i, 5)), r.get(i, 6), r.at(i, 7), r.at(i, 8),
                           int_cell(r, i, 9)});
  return out;
}

statement list_posts(std::string_view tenant_id, std::string_view user_id,
                     std::string_view project_id, const page_request& page) {
  statement st;
  st.bind(tenant_id).bind(project_id).bind(user_id);
  st.sql = "SELECT " + post_columns(visible_sources("$3")) +
           " FROM blog_posts b WHERE b.tenant_id = $1 AND b.project_id = $2";
  st.sql += page_clause(st, page, "b");
  return st;
}

statement find_post(std::string_view tenant_id, std::string_view user_id, std::string_view id) {
  statement st{"SELECT " + post_columns(visible_sources("$3")) +
               " FROM blog_posts b WHERE b.tenant_id = $1 AND b.id = $2"};
  st.bind(tenant_id).bind(id).bind(user_id);
  return st;
}

statement create_post(const new_post& p) {
  std::string slug = p.slug ? std::string{"SELECT $7::text AS v"} : free_post_slug("$7");
  statement st{
      "WITH src AS (SELECT n.id, n.created_at FROM notes n WHERE n.tenant_id = $1 AND "
      "n.project_id = $2 AND n.id = ANY($6::uuid[]) AND " +
      visible_note("n", "$3") + "), chosen AS (" + slug +
      "), b AS (INSERT INTO blog_posts (tenant_id, project_id, created_by, slug, title, body) "
      "SELECT p.tenant_id, p.id, $3, chosen.v, $4, $5 FROM projects p, chosen "
      "WHERE p.tenant_id = $1 AND p.id = $2 AND "
      "(SELECT count(*) FROM src) = cardinality($6::uuid[]) RETURNING *), "
      "s AS (INSERT INTO blog_post_sources (tenant_id, project_id, post_id, note_id) "
      "SELECT b.tenant_id, b.project_id, b.id, src.id FROM b, src) "
      "SELECT " +
      post_columns("(SELECT string_agg(src.id::text, ',' ORDER BY src.created_at, src.id) "
                   "FROM src)") +
      " FROM b"};
  st.bind(p.tenant_id).bind(p.project_id).bind(p.created_by).bind(p.title).bind(p.body);
  st.bind(uuid_array(p.source_note_ids)).bind(p.slug.value_or(p.default_slug));
  return st;
}

statement publish_post(std::string_view tenant_id, std::string_view user_id, std::string_view id) {
  statement st{
      "UPDATE blog_posts b SET published_at = coalesce(b.published_at, clock_timestamp()), "
      "updated_at = CASE WHEN b.published_at IS NULL THEN clock_timestamp() "
      "ELSE b.updated_at END WHERE b.tenant_id = $1 AND b.id = $2 RETURNING " +
      post_columns(visible_sources("$3"))};
  st.bind(tenant_id).bind(id).bind(user_id);
  return st;
}

}  // namespace nyxgate::storage::projects_repository
