#pragma once

#include <string>
#include <string_view>

namespace nyxgate::telemetry {

/// Appends `s` to `out` as the body of a JSON string (without quotes), escaping what JSON
/// requires. Runs of plain bytes are copied at once: this sits on the streaming hot path.
/// Bytes >= 0x80 pass through unchanged (UTF-8 stays UTF-8).
inline void append_json_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
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
