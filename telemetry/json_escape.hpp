#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace nyxgate::telemetry {

/// Appends `s` to `out` as the body of a JSON string (without quotes), escaping what JSON
/// requires. Runs of plain bytes are copied at once: this sits on the streaming hot path.
/// Bytes >= 0x80 pass through unchanged (UTF-8 stays UTF-8).
inline void append_json_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  // Eight bytes at a time while none needs escaping: a byte below 0x20, '"' or '\\' sets a
  // high bit here (the classic "has a byte less than n / has a zero byte" tests).
  auto plain = [](std::uint64_t w) {
    auto zero_in = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
    return (((w - ones * 0x20) & ~w & highs) | zero_in(w ^ (ones * '"')) |
            zero_in(w ^ (ones * '\\'))) == 0;
  };
  std::size_t run = 0;
  std::size_t i = 0;
  for (;;) {
    while (i + 8 <= s.size()) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (!plain(w)) break;
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
