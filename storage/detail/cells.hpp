#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "storage/db_types.hpp"

/// Text cells to values, for the repositories' row decoders (results arrive in text format).
namespace nyxgate::storage::detail {

inline std::int64_t int_cell(const db_result& r, std::size_t row, std::size_t col) {
  return std::strtoll(r.at(row, col).c_str(), nullptr, 10);
}

inline bool bool_cell(const db_result& r, std::size_t row, std::size_t col) {
  return r.at(row, col) == "t";
}

/// ISO 8601 UTC rendering of a timestamptz column, for JSON replies.
std::string iso_time(std::string_view column);

}  // namespace nyxgate::storage::detail
