#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "telemetry/json_escape.hpp"

namespace nyxgate::telemetry {

/// `fatal` is for the last line before the process gives up and exits non-zero.
enum class log_level { debug, info, warn, error, fatal };

/// One field of a structured log line. Values are JSON-escaped on output; bytes that are not
/// UTF-8 become U+FFFD, so every line parses as JSON whatever a client sent.
struct log_field {
  std::string_view key;
  std::variant<std::string_view, long long, double, bool> value;

  log_field(std::string_view k, std::string_view v) : key(k), value(v) {}
  log_field(std::string_view k, const std::string& v) : key(k), value(std::string_view{v}) {}
  log_field(std::string_view k, const char* v) : key(k), value(std::string_view{v}) {}
  log_field(std::string_view k, bool v) : key(k), value(v) {}
  log_field(std::string_view k, double v) : key(k), value(v) {}
  template <class Int>
  requires std::is_integral_v<Int> log_field(std::string_view k, Int v)
      : key(k), value(static_cast<long long>(v)) {}
};

/// Sets the minimum level written (default info). Thread-safe.
void set_log_level(log_level level);

/// Writes one JSON object per line to stderr: {"ts","level","msg",fields...}.
/// Never pass a secret as a field; the logger does not know what a secret is.
void log(log_level level, std::string_view msg, std::initializer_list<log_field> fields = {});

inline void log_info(std::string_view msg, std::initializer_list<log_field> f = {}) {
  log(log_level::info, msg, f);
}
inline void log_warn(std::string_view msg, std::initializer_list<log_field> f = {}) {
  log(log_level::warn, msg, f);
}
inline void log_error(std::string_view msg, std::initializer_list<log_field> f = {}) {
  log(log_level::error, msg, f);
}
inline void log_fatal(std::string_view msg, std::initializer_list<log_field> f = {}) {
  log(log_level::fatal, msg, f);
}

}  // namespace nyxgate::telemetry
