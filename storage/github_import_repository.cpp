#include "storage/github_import_repository.hpp"

#include "telemetry/json_escape.hpp"

namespace nyxgate::storage::github_import_repository {

statement insert_commit_notes(std::string_view tenant_id, std::string_view project_id,
                              std::string_view author_id, const std::vector<commit_note>& notes) {
  // The page travels as one JSON parameter; WITH ORDINALITY keeps its order, so the notes'
  // creation times follow it.
  std::string page = "[";
  for (const auto& n : notes) {
    if (page.size() > 1) page += ',';
    page += "{\"sha\":\"";
    telemetry::append_json_escaped(page, n.sha);
    page += "\",\"title\":\"";
    telemetry::append_json_escaped(page, n.title);
    page += "\",\"body\":\"";
    telemetry::append_json_escaped(page, n.body);
    page += "\"}";
  }
  page += ']';
  statement st{
      "INSERT INTO notes (tenant_id, project_id, author_id, title, body, visibility, github_sha) "
      "SELECT $1, $2, $3, c.value->>'title', c.value->>'body', 'tenant', c.value->>'sha' "
      "FROM jsonb_array_elements($4::jsonb) WITH ORDINALITY AS c(value, i) ORDER BY c.i "
      "ON CONFLICT (tenant_id, project_id, github_sha) DO NOTHING RETURNING github_sha"};
  st.bind(tenant_id).bind(project_id).bind(author_id).bind(std::move(page));
  return st;
}

}  // namespace nyxgate::storage::github_import_repository
