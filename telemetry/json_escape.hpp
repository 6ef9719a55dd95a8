#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace nyxgate::telemetry {

/// Eight bytes at a time (the classic "has a zero byte / a byte less than n" tests): whether
/// any byte of `w` is below `n` (n <= 0x80), or equals `c`. Shared by the escapers that copy
/// runs of plain bytes at once.
inline std::uint64_t load_word(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
constexpr bool has_byte_below(std::uint64_t w, unsigned char n) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  return ((w - ones * n) & ~w & highs) != 0;
}
constexpr bool has_byte(std::uint64_t w, unsigned char c) {
  return has_byte_below(w ^ (0x0101010101010101ULL * c), 1);
}

/// Appends `s` to `out` as the body of a JSON string (without quotes), escaping what JSON
/// requires. Runs of plain bytes are copied at once: this sits on the streaming hot path.
/// Bytes >= 0x80 pass through unchanged (UTF-8 stays UTF-8).
inline void append_json_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  // Eight bytes at a time while none needs escaping: a byte below 0x20, '"' or '\\'.
  auto plain = [](std::uint64_t w) {
    return !has_byte_below(w, 0x20) && !has_byte(w, '"') && !has_byte(w, '\\');
  };
  std::size_t run = 0;
  std::size_t i = 0;
  for (;;) {
    while (i + 8 <= s.size()) {
      if (!plain(load_word(s.data() + i))) break;
      i += 8;
    }
    if (i >= s.size()) break;
    auto c = static_cast<unsigned char>(s[i++]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - 1 - run);
    run = i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xf];
    }
  }
  out.append(s.data() + run, s.size() - run);
}

}  // namespace nyxgate::telemetry
