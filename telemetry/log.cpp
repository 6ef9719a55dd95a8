#include "telemetry/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "telemetry/utf8.hpp"

namespace nyxgate::telemetry {
namespace {

std::atomic<int> min_level{static_cast<int>(log_level::info)};
std::mutex write_mutex;

const char* level_name(log_level l) {
  switch (l) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
    case log_level::fatal:
      return "fatal";
  }
  return "info";
}

void append_timestamp(std::string& out) {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  out += buf;
}

}  // namespace

void set_log_level(log_level level) {
  min_level = static_cast<int>(level);
}

void log(log_level level, std::string_view msg, std::initializer_list<log_field> fields) {
  if (static_cast<int>(level) < min_level.load(std::memory_order_relaxed)) return;
  std::string line;
  line.reserve(256);
  line += "{\"ts\":\"";
  append_timestamp(line);
  line += "\",\"level\":\"";
  line += level_name(level);
  line += "\",\"msg\":\"";
  append_json_escaped_untrusted(line, msg);
  line += '"';
  for (const auto& f : fields) {
    line += ",\"";
    append_json_escaped_untrusted(line, f.key);
    line += "\":";
    if (auto s = std::get_if<std::string_view>(&f.value)) {
      line += '"';
      append_json_escaped_untrusted(line, *s);
      line += '"';
    } else if (auto i = std::get_if<long long>(&f.value)) {
      line += std::to_string(*i);
    } else if (auto d = std::get_if<double>(&f.value)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", *d);
      line += buf;
    } else {
      line += std::get<bool>(f.value) ? "true" : "false";
    }
  }
  line += "}\n";
  std::lock_guard lock{write_mutex};
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace nyxgate::telemetry
