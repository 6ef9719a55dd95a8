#include "telemetry/utf8.hpp"

#include "telemetry/json_escape.hpp"

namespace nyxgate::telemetry {

std::size_t utf8_sequence_length(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  unsigned char c = p[0];
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;  // overlong
    if (c == 0xed) hi = 0x9f;  // surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;  // overlong
    if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (std::size_t i = 2; i < len; ++i)
    if (p[i] < 0x80 || p[i] > 0xbf) return 0;
  return len;
}

namespace {

/// The length of the well-formed UTF-8 prefix of `s`.
std::size_t valid_prefix(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    auto n = utf8_sequence_length(s.substr(i));
    if (n == 0) break;
    i += n;
  }
  return i;
}

/// Calls `valid(run)` for each well-formed run of `s` and `invalid()` for each byte between.
template <class Valid, class Invalid>
void for_each_run(std::string_view s, Valid valid, Invalid invalid) {
  while (!s.empty()) {
    auto n = valid_prefix(s);
    valid(s.substr(0, n));
    if (n == s.size()) return;
    invalid();
    s.remove_prefix(n + 1);
  }
}

}  // namespace

bool valid_utf8(std::string_view s) {
  return valid_prefix(s) == s.size();
}

std::string to_valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for_each_run(
      s, [&](std::string_view run) { out.append(run); }, [&] { out += "\xef\xbf\xbd"; });
  return out;
}

void append_json_escaped_untrusted(std::string& out, std::string_view s) {
  for_each_run(
      s, [&](std::string_view run) { append_json_escaped(out, run); }, [&] { out += "\\ufffd"; });
}

}  // namespace nyxgate::telemetry
