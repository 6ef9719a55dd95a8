#include "storage/blog_repository.hpp"

#include <algorithm>
#include <tuple>

#include "storage/detail/cells.hpp"

namespace nyxgate::storage::blog_repository {

db_batch load_blog(std::string_view blog_slug, std::int64_t max_posts) {
  db_batch b;
  b.transaction = true;
  b.statements.emplace_back("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  b.statements.emplace_back("SELECT blog_slug, id FROM projects WHERE blog_slug IS NOT NULL");
  // The project's row (post columns NULL) and its posts in one statement: no row at all when
  // the slug is unknown.
  statement st{"SELECT p.id, p.name, p.description, " + detail::iso_time("p.updated_at") +
               ", NULL, NULL, NULL, NULL, NULL, NULL FROM projects p WHERE p.blog_slug = $1 "
               "UNION ALL (SELECT p.id, NULL, NULL, NULL, b.id, b.slug, b.title, b.body, " +
               detail::iso_time("b.published_at") + ", " + detail::iso_time("b.updated_at") +
               " FROM projects p JOIN blog_posts b ON b.tenant_id = p.tenant_id AND "
               "b.project_id = p.id AND b.published_at IS NOT NULL WHERE p.blog_slug = $1 "
               "ORDER BY b.published_at DESC, b.id DESC LIMIT $2)"};
  st.bind(blog_slug).bind(max_posts);
  b.statements.push_back(std::move(st));
  return b;
}

std::vector<directory_row> directory_rows(const db_reply& r) {
  std::vector<directory_row> out;
  if (r.results.size() < 3) return out;
  const auto& d = r.results[r.results.size() - 2];
  out.reserve(d.rows());
  for (std::size_t i = 0; i < d.rows(); ++i) out.push_back(directory_row{d.at(i, 0), d.at(i, 1)});
  return out;
}

std::optional<blog_row> blog_of(const db_reply& r, std::string_view blog_slug) {
  if (r.results.size() < 3 || r.results.back().empty()) return std::nullopt;
  const auto& b = r.results.back();
  blog_row out;
  out.blog_slug = blog_slug;
  for (std::size_t i = 0; i < b.rows(); ++i) {
    if (b.is_null(i, 4)) {
      out.project_id = b.at(i, 0);
      out.name = b.at(i, 1);
      out.description = b.at(i, 2);
      out.updated_at = b.at(i, 3);
    } else {
      out.posts.push_back(
          post_row{b.at(i, 4), b.at(i, 5), b.at(i, 6), b.at(i, 7), b.at(i, 8), b.at(i, 9)});
    }
  }
  // UNION ALL promises no order across its branches: newest first by (published_at, id), the
  // times being fixed-width ISO text.
  std::sort(out.posts.begin(), out.posts.end(), [](const post_row& a, const post_row& b) {
    return std::tie(a.published_at, a.id) > std::tie(b.published_at, b.id);
  });
  return out;
}

}  // namespace nyxgate::storage::blog_repository
