#pragma once

#include <string>
#include <string_view>

#include "telemetry/json_escape.hpp"

namespace nyxgate::providers {

/// Appends `s` as a JSON string literal, quotes included.
inline void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  telemetry::append_json_escaped(out, s);
  out += '"';
}

}  // namespace nyxgate::providers
