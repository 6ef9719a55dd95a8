#include "storage/detail/cells.hpp"

namespace nyxgate::storage::detail {

std::string iso_time(std::string_view column) {
  return "to_char(" + std::string{column} +
         " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

}  // namespace nyxgate::storage::detail
