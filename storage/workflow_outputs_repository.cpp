#include "storage/workflow_outputs_repository.hpp"

#include <algorithm>

#include "storage/projects_repository.hpp"
#include "storage/uuid.hpp"

namespace nyxgate::storage::workflow_outputs_repository {

namespace projects = projects_repository;

statement lock_post_slugs(std::string_view tenant_id, std::string_view project_id) {
  statement st{
      "SELECT pg_advisory_xact_lock(hashtextextended('nyxgate post slug ' || $1::uuid || ' ' || "
      "$2::uuid, 0))"};
  st.bind(tenant_id).bind(project_id);
  return st;
}

statement insert_draft_post(const draft_post& p) {
  projects::new_post post;
  post.tenant_id = p.tenant_id;
  post.project_id = p.project_id;
  post.created_by = p.created_by;
  post.title = p.title;
  post.body = p.body;
  post.default_slug = projects::slug_from_title(p.title);
  for (const auto& id : p.source_note_ids)
    if (is_uuid(id) && std::find(post.source_note_ids.begin(), post.source_note_ids.end(), id) ==
                           post.source_note_ids.end())
      post.source_note_ids.push_back(id);
  return projects::create_post(post);
}

statement write_doc(const doc_product& d) {
  if (!d.refresh_doc_id)
    return projects::create_doc({d.tenant_id, d.project_id, d.created_by, d.title, d.body});
  statement st{
      "UPDATE docs d SET title = $4, body = $5, updated_at = clock_timestamp() "
      "WHERE d.tenant_id = $1 AND d.project_id = $2 AND d.id = $3 RETURNING d.id"};
  st.bind(d.tenant_id).bind(d.project_id);
  if (is_uuid(*d.refresh_doc_id))
    st.bind(*d.refresh_doc_id);
  else
    st.bind_null();  // matches no doc
  st.bind(d.title).bind(d.body);
  return st;
}

std::optional<std::string> product_id(const db_result& r) {
  if (r.empty() || r.is_null(0, 0)) return std::nullopt;
  return r.at(0, 0);
}

}  // namespace nyxgate::storage::workflow_outputs_repository
