#include "storage/llm_defaults_repository.hpp"

#include "storage/detail/cells.hpp"

namespace nyxgate::storage::llm_defaults_repository {

statement tenant_defaults(std::string_view tenant_id) {
  statement st{"SELECT primary_provider, fallback_provider, models::text, max_tokens, ethics, " +
               detail::iso_time("updated_at") + " FROM llm_defaults WHERE tenant_id = $1"};
  st.bind(tenant_id);
  return st;
}

std::optional<defaults_row> defaults_of(const db_result& r) {
  if (r.empty()) return std::nullopt;
  return defaults_row{r.at(0, 0), r.get(0, 1), r.at(0, 2), detail::int_cell(r, 0, 3),
                      r.at(0, 4), r.at(0, 5)};
}

statement update(std::string_view tenant_id, const defaults_change& c) {
  statement st{
      "UPDATE llm_defaults SET primary_provider = coalesce($2, primary_provider), "
      "fallback_provider = CASE WHEN $3 THEN NULL ELSE coalesce($4, fallback_provider) END, "
      "models = coalesce($5::jsonb, models), max_tokens = coalesce($6::integer, max_tokens), "
      "ethics = coalesce($7, ethics), updated_at = now() WHERE tenant_id = $1 RETURNING tenant_id"};
  st.bind(tenant_id).bind(c.primary).bind(c.clear_fallback).bind(c.fallback).bind(c.models);
  st.bind(c.max_tokens ? std::optional<std::string>{std::to_string(*c.max_tokens)} : std::nullopt);
  st.bind(c.ethics);
  return st;
}

}  // namespace nyxgate::storage::llm_defaults_repository
