#include "storage/templates_repository.hpp"

#include "storage/detail/cells.hpp"

namespace nyxgate::storage::templates_repository {

namespace {

std::string columns() {
  return "kind, body, " + detail::iso_time("updated_at");
}

}  // namespace

std::vector<template_row> template_rows(const db_result& r) {
  std::vector<template_row> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i) out.push_back({r.at(i, 0), r.at(i, 1), r.at(i, 2)});
  return out;
}

statement list(std::string_view tenant_id) {
  statement st{"SELECT " + columns() + " FROM prompt_templates WHERE tenant_id = $1 ORDER BY kind"};
  st.bind(tenant_id);
  return st;
}

statement find(std::string_view tenant_id, std::string_view kind) {
  statement st{"SELECT " + columns() + " FROM prompt_templates WHERE tenant_id = $1 AND kind = $2"};
  st.bind(tenant_id).bind(kind);
  return st;
}

statement upsert(std::string_view tenant_id, std::string_view kind, std::string_view body,
                 std::string_view updated_by) {
  statement st{
      "INSERT INTO prompt_templates (tenant_id, kind, body, updated_by) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (tenant_id, kind) DO UPDATE SET body = excluded.body, "
      "updated_by = excluded.updated_by, updated_at = clock_timestamp() RETURNING " +
      columns()};
  st.bind(tenant_id).bind(kind).bind(body).bind(updated_by);
  return st;
}

statement remove(std::string_view tenant_id, std::string_view kind) {
  statement st{"DELETE FROM prompt_templates WHERE tenant_id = $1 AND kind = $2 RETURNING " +
               columns()};
  st.bind(tenant_id).bind(kind);
  return st;
}

}  // namespace nyxgate::storage::templates_repository
