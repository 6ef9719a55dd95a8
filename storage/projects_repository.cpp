#include "storage/projects_repository.hpp"

#include "storage/detail/cells.hpp"

namespace nyxgate::storage::projects_repository {

namespace {

std::string project_columns() {
  return "id, slug, name, description, github_repo, blog_slug, " + detail::iso_time("created_at") +
         ", " + detail::iso_time("updated_at");
}

}  // namespace

statement find_project(std::string_view tenant_id, std::string_view id) {
  statement st{"SELECT " + project_columns() + " FROM projects WHERE tenant_id = $1 AND id = $2"};
  st.bind(tenant_id).bind(id);
  return st;
}

std::vector<project_row> project_rows(const db_result& r) {
  std::vector<project_row> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i)
    out.push_back(project_row{r.at(i, 0), r.at(i, 1), r.at(i, 2), r.at(i, 3), r.get(i, 4),
                              r.get(i, 5), r.at(i, 6), r.at(i, 7)});
  return out;
}

}  // namespace nyxgate::storage::projects_repository
