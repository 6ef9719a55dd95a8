#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "storage/db_types.hpp"

/// SQL of `prompt_templates`: a tenant's overrides of the built-in prompt templates, one per
/// kind at most. Kinds are their API names (`blog`, `docs`, `keyPoints`, `translate`); a kind
/// without a row uses its default (`workflows::default_template`). Every statement is scoped by
/// the tenant id, so another tenant's overrides are never read or touched.
namespace nyxgate::storage::templates_repository {

struct template_row {
  std::string kind;
  std::string body;
  std::string updated_at;  ///< ISO 8601 UTC
};
std::vector<template_row> template_rows(const db_result& r);

/// Rows: template_rows, by kind.
statement list(std::string_view tenant_id);

/// Rows: template_rows (none: the kind's default is in force). The template a run of this kind
/// uses is this override, else the default; `api::template_in_force` applies that rule.
statement find(std::string_view tenant_id, std::string_view kind);

/// Saves the override of a kind (a body `workflows::check_template` accepted).
/// Rows: template_rows (the saved override).
statement upsert(std::string_view tenant_id, std::string_view kind, std::string_view body,
                 std::string_view updated_by);

/// Deletes the override of a kind, so its default is in force again.
/// Rows: template_rows (none: there was no override).
statement remove(std::string_view tenant_id, std::string_view kind);

}  // namespace nyxgate::storage::templates_repository
