#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nyxgate::telemetry {

/// Length (2 to 4) of the well-formed UTF-8 sequence that starts `s`, whose first byte is at
/// least 0x80; 0 when there is none (a stray continuation byte, an overlong form, a surrogate,
/// a code point past U+10FFFF, a truncated sequence).
std::size_t utf8_sequence_length(std::string_view s);

/// Well-formed UTF-8 throughout.
bool valid_utf8(std::string_view s);

/// `s` with each byte that starts no well-formed UTF-8 sequence replaced by U+FFFD.
std::string to_valid_utf8(std::string_view s);

/// append_json_escaped for bytes from outside (request paths, header values, error texts that
/// quote them): each byte that starts no well-formed UTF-8 sequence becomes `\ufffd`, so the
/// output is valid JSON text whatever `s` holds.
void append_json_escaped_untrusted(std::string& out, std::string_view s);

}  // namespace nyxgate::telemetry
