#include "storage/page.hpp"

namespace nyxgate::storage {

std::string page_clause(statement& st, const page_request& page, std::string_view table) {
  const std::string t = std::string{table} + ".";
  std::string sql;
  if (page.after) {
    auto at = std::to_string(st.params.size() + 1);
    auto id = std::to_string(st.params.size() + 2);
    st.bind(page.after->created_us).bind(page.after->id);
    sql += " AND (" + t + "created_at, " + t + "id) < (timestamptz 'epoch' + $" + at +
           "::bigint * interval '1 microsecond', $" + id + "::uuid)";
  }
  sql += " ORDER BY " + t + "created_at DESC, " + t + "id DESC LIMIT " +
         std::to_string(page.limit + 1);
  return sql;
}

std::string created_us_column(std::string_view table) {
  return "(extract(epoch FROM " + std::string{table} + ".created_at) * 1000000)::bigint";
}

}  // namespace nyxgate::storage
