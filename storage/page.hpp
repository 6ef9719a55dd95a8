#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/db_types.hpp"

/// Keyset pages over `(created_at, id)`, newest first: a page starts strictly after the last
/// row of the previous one, so rows inserted meanwhile never shift it.
namespace nyxgate::storage {

/// The last row of the previous page: its `created_at` in exact microseconds since the epoch,
/// and its id.
struct page_position {
  std::int64_t created_us = 0;
  std::string id;
};

struct page_request {
  int limit = 20;
  std::optional<page_position> after;
};

/// The SQL that follows a statement's WHERE conditions: the position condition (binding its
/// parameters to `st`), the order, and a LIMIT of one more row than the page holds, so the
/// caller knows whether another page follows. `table` qualifies the columns ("n" gives
/// `n.created_at`).
std::string page_clause(statement& st, const page_request& page, std::string_view table);

/// A column list entry: `created_at` in exact microseconds since the epoch, for positions.
std::string created_us_column(std::string_view table);

}  // namespace nyxgate::storage
