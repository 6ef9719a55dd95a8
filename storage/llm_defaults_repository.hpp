#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/db_types.hpp"

/// SQL of `llm_defaults`: one row per tenant, the providers and models its calls go to.
namespace nyxgate::storage::llm_defaults_repository {

struct defaults_row {
  std::string primary;
  std::optional<std::string> fallback;
  std::string models;  ///< JSON object: provider -> model name
  std::int64_t max_tokens = 0;
  std::string ethics;
  std::string updated_at;  ///< ISO 8601 UTC
};

/// Rows: defaults_row (none: the tenant has no defaults row).
statement tenant_defaults(std::string_view tenant_id);
std::optional<defaults_row> defaults_of(const db_result& r);

/// What an update changes; an unset field keeps its value.
struct defaults_change {
  std::optional<std::string> primary;
  bool clear_fallback = false;
  std::optional<std::string> fallback;
  std::optional<std::string> models;  ///< JSON object
  std::optional<std::int64_t> max_tokens;
  std::optional<std::string> ethics;
};
/// Rows: the tenant id (none: the tenant has no defaults row).
statement update(std::string_view tenant_id, const defaults_change& c);

}  // namespace nyxgate::storage::llm_defaults_repository
