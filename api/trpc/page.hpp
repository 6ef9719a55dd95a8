#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "api/trpc/input.hpp"
#include "storage/page.hpp"

/// Lists the way tRPC's infinite queries page: input `{limit?, cursor?}`, output
/// `{items, nextCursor}`. The cursor is opaque to clients: base64url of
/// "<created_at in epoch microseconds>.<id>" of the page's last item.
namespace nyxgate::api {

inline constexpr int default_page_limit = 20;
inline constexpr int max_page_limit = 100;

std::string encode_cursor(std::int64_t created_us, std::string_view id);
/// nullopt for anything encode_cursor cannot have made.
std::optional<storage::page_position> decode_cursor(std::string_view cursor);

/// Reads `limit` (1–100, default 20) and `cursor`; a malformed cursor fails `input.cursor`.
storage::page_request read_page(input_reader& in);

/// The page of `rows` (fetched with page_clause: up to one more than the page holds), each
/// rendered by `render`; `nextCursor` names the last item shown when more rows follow. Rows
/// have `id` and `created_us`.
template <class Row, class Render>
boost::json::value page_reply(const std::vector<Row>& rows, const storage::page_request& page,
                              Render render) {
  const auto shown = std::min(rows.size(), static_cast<std::size_t>(page.limit));
  boost::json::array items;
  items.reserve(shown);
  for (std::size_t i = 0; i < shown; ++i) items.push_back(render(rows[i]));
  boost::json::value next = nullptr;
  if (rows.size() > shown && shown > 0)
    next = boost::json::string(encode_cursor(rows[shown - 1].created_us, rows[shown - 1].id));
  return boost::json::object{{"items", std::move(items)}, {"nextCursor", std::move(next)}};
}

}  // namespace nyxgate::api
