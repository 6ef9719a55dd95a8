#include "api/trpc/page.hpp"

#include <array>
#include <charconv>

#include "storage/uuid.hpp"

namespace nyxgate::api {

namespace {

constexpr std::string_view b64url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Longer than any cursor encode_cursor makes, so decoding is bounded.
constexpr std::size_t max_cursor_chars = 128;
/// 9999-12-31T23:59:59.999999Z: no row is later, and PostgreSQL computes the time without
/// overflow.
constexpr std::int64_t max_created_us = 253402300799999999;

int b64url_index(char c) {
  auto at = b64url.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

std::string to_base64url(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    auto n = (static_cast<unsigned char>(in[i]) << 16) |
             (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
    out += b64url[(n >> 18) & 63];
    out += b64url[(n >> 12) & 63];
    out += b64url[(n >> 6) & 63];
    out += b64url[n & 63];
  }
  if (auto rest = in.size() - i; rest > 0) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += b64url[(n >> 18) & 63];
    out += b64url[(n >> 12) & 63];
    if (rest == 2) out += b64url[(n >> 6) & 63];
  }
  return out;
}

std::optional<std::string> from_base64url(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = b64url_index(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

}  // namespace

std::string encode_cursor(std::int64_t created_us, std::string_view id) {
  return to_base64url(std::to_string(created_us) + "." + std::string{id});
}

std::optional<storage::page_position> decode_cursor(std::string_view cursor) {
  if (cursor.empty() || cursor.size() > max_cursor_chars) return std::nullopt;
  auto text = from_base64url(cursor);
  if (!text) return std::nullopt;
  auto dot = text->find('.');
  if (dot == std::string::npos || dot == 0) return std::nullopt;
  storage::page_position at;
  const char* first = text->data();
  const char* last = text->data() + dot;
  auto [end, ec] = std::from_chars(first, last, at.created_us);
  if (ec != std::errc{} || end != last || at.created_us < 0 || at.created_us > max_created_us)
    return std::nullopt;
  at.id = text->substr(dot + 1);
  if (!storage::is_uuid(at.id)) return std::nullopt;
  // Canonical form only: a cursor is what encode_cursor made, never an equivalent spelling.
  if (encode_cursor(at.created_us, at.id) != cursor) return std::nullopt;
  return at;
}

storage::page_request read_page(input_reader& in) {
  storage::page_request page;
  page.limit =
      static_cast<int>(in.optional_int("limit", 1, max_page_limit).value_or(default_page_limit));
  if (auto cursor = in.optional_string("cursor", max_cursor_chars)) {
    page.after = decode_cursor(*cursor);
    if (!page.after) in.fail("cursor", "malformed cursor: pass the nextCursor of the last page");
  }
  return page;
}

}  // namespace nyxgate::api
