#include "api/trpc/input.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "identity/token.hpp"

namespace nyxgate::api {

namespace {

/// Code points in valid UTF-8: every byte that is not a continuation byte.
std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_email(std::string_view s) {
  if (s.size() > 254) return false;
  auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == s.size()) return false;
  if (s.find('@', at + 1) != std::string_view::npos) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

std::string one_of(std::span<const std::string_view> allowed) {
  std::string out = "must be one of ";
  bool first = true;
  for (auto a : allowed) {
    if (!first) out += ", ";
    out += a;
    first = false;
  }
  return out;
}

bool contains(std::span<const std::string_view> allowed, std::string_view v) {
  return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

/// A key as it appears in a message: JSON-quoted, cut to a sane length.
std::string quoted_key(std::string_view key) {
  constexpr std::size_t max_shown = 64;
  std::string_view shown = key.substr(0, max_shown);
  // Do not cut a UTF-8 sequence in half.
  while (shown.size() < key.size() && !shown.empty() &&
         (static_cast<unsigned char>(key[shown.size()]) & 0xc0) == 0x80)
    shown.remove_suffix(1);
  std::string out = boost::json::serialize(boost::json::string(shown));
  if (shown.size() < key.size()) out += "...";
  return out;
}

const boost::json::object& empty_object() {
  static const boost::json::object empty;
  return empty;
}

}  // namespace

input_reader::input_reader(const std::optional<boost::json::value>& input, bool allow_undefined)
    : input_reader(input ? &*input : nullptr, "input", allow_undefined) {}

input_reader::input_reader(const boost::json::value* input, std::string field_prefix,
                           bool allow_undefined)
    : prefix_(std::move(field_prefix)) {
  if (input == nullptr || input->is_null()) {
    if (allow_undefined)
      object_ = &empty_object();
    else
      error_ = trpc_error{trpc_code::bad_request, prefix_ + ": expected an object"};
    return;
  }
  object_ = input->if_object();
  if (object_ == nullptr)
    error_ = trpc_error{trpc_code::bad_request, prefix_ + ": expected an object"};
}

void input_reader::fail(std::string_view key, std::string_view what) {
  if (error_) return;
  std::string message = prefix_;
  if (!key.empty()) {
    message += '.';
    message += key;
  }
  message += ": ";
  message += what;
  error_ = trpc_error{trpc_code::bad_request, std::move(message)};
}

void input_reader::fail_type(std::string_view key, std::string_view expected) {
  fail(key, "expected " + std::string(expected));
}

const boost::json::value* input_reader::field(std::string_view key, bool null_is_absent) {
  if (std::find(read_.begin(), read_.end(), key) == read_.end()) read_.emplace_back(key);
  if (error_ || object_ == nullptr) return nullptr;
  const auto* v = object_->if_contains(key);
  if (v != nullptr && null_is_absent && v->is_null()) return nullptr;
  return v;
}

std::optional<std::string> input_reader::checked_string(std::string_view key,
                                                        const boost::json::value& v,
                                                        std::size_t min_len, std::size_t max_len) {
  const auto* s = v.if_string();
  if (s == nullptr) {
    fail_type(key, "a string");
    return std::nullopt;
  }
  std::string_view sv(s->data(), s->size());
  if (sv.find('\0') != std::string_view::npos) {
    fail(key, "must not contain NUL characters");
    return std::nullopt;
  }
  if (!detail::valid_utf8(sv)) {
    fail(key, "must be valid UTF-8");
    return std::nullopt;
  }
  auto n = code_points(sv);
  if (n < min_len) {
    fail(key, min_len == 1 ? std::string("must not be empty")
                           : "must be at least " + std::to_string(min_len) + " characters");
    return std::nullopt;
  }
  if (n > max_len) {
    fail(key, "must be at most " + std::to_string(max_len) + " characters");
    return std::nullopt;
  }
  return std::string(sv);
}

std::string input_reader::required_string(std::string_view key, std::size_t min_len,
                                          std::size_t max_len) {
  const auto* v = field(key, false);
  if (error_) return {};
  if (v == nullptr) {
    fail(key, "required");
    return {};
  }
  return checked_string(key, *v, min_len, max_len).value_or(std::string{});
}

std::string input_reader::required_secret(std::string_view key, std::size_t min_len,
                                          std::size_t max_len) {
  auto s = required_string(key, min_len, max_len);
  if (error_) return {};
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    fail(key, "must be printable ASCII without whitespace or control characters");
    return {};
  }
  return s;
}

std::optional<std::string> input_reader::optional_string(std::string_view key,
                                                         std::size_t max_len) {
  const auto* v = field(key, true);
  if (v == nullptr) return std::nullopt;
  return checked_string(key, *v, 0, max_len);
}

std::string input_reader::required_enum(std::string_view key,
                                        std::initializer_list<std::string_view> allowed) {
  return required_one_of(key, {allowed.begin(), allowed.size()});
}

std::optional<std::string> input_reader::optional_enum(
    std::string_view key, std::initializer_list<std::string_view> allowed) {
  return optional_one_of(key, {allowed.begin(), allowed.size()});
}

std::string input_reader::required_one_of(std::string_view key,
                                          std::span<const std::string_view> allowed) {
  const auto* v = field(key, false);
  if (error_) return {};
  if (v == nullptr) {
    fail(key, "required");
    return {};
  }
  const auto* s = v->if_string();
  if (s == nullptr || !contains(allowed, std::string_view(s->data(), s->size()))) {
    fail(key, one_of(allowed));
    return {};
  }
  return std::string(s->data(), s->size());
}

std::optional<std::string> input_reader::optional_one_of(
    std::string_view key, std::span<const std::string_view> allowed) {
  const auto* v = field(key, true);
  if (v == nullptr) return std::nullopt;
  const auto* s = v->if_string();
  if (s == nullptr || !contains(allowed, std::string_view(s->data(), s->size()))) {
    fail(key, one_of(allowed));
    return std::nullopt;
  }
  return std::string(s->data(), s->size());
}

std::string input_reader::required_uuid(std::string_view key) {
  const auto* v = field(key, false);
  if (error_) return {};
  if (v == nullptr) {
    fail(key, "required");
    return {};
  }
  const auto* s = v->if_string();
  if (s == nullptr || !identity::is_uuid(std::string_view(s->data(), s->size()))) {
    fail_type(key, "a UUID");
    return {};
  }
  return ascii_lower(std::string_view(s->data(), s->size()));
}

std::string input_reader::required_email(std::string_view key) {
  const auto* v = field(key, false);
  if (error_) return {};
  if (v == nullptr) {
    fail(key, "required");
    return {};
  }
  const auto* s = v->if_string();
  if (s == nullptr) {
    fail_type(key, "a string");
    return {};
  }
  std::string_view sv(s->data(), s->size());
  if (!is_email(sv) || !detail::valid_utf8(sv)) {
    fail_type(key, "an email address");
    return {};
  }
  return ascii_lower(sv);
}

std::optional<bool> input_reader::optional_bool(std::string_view key) {
  const auto* v = field(key, true);
  if (v == nullptr) return std::nullopt;
  if (!v->is_bool()) {
    fail_type(key, "a boolean");
    return std::nullopt;
  }
  return v->get_bool();
}

std::optional<std::int64_t> input_reader::optional_int(std::string_view key, std::int64_t min,
                                                       std::int64_t max) {
  const auto* v = field(key, true);
  if (v == nullptr) return std::nullopt;
  std::optional<std::int64_t> n;
  bool out_of_range = false;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64()) {
    out_of_range = true;  // above INT64_MAX: Boost.JSON stores smaller ones as int64
  } else if (v->is_double()) {
    double d = v->get_double();
    if (std::isfinite(d) && std::trunc(d) == d) {
      // 2^63 as a double is exact; anything at or beyond it does not fit.
      if (d >= -9223372036854775808.0 && d < 9223372036854775808.0)
        n = static_cast<std::int64_t>(d);
      else
        out_of_range = true;
    }
  }
  if (!n && !out_of_range) {
    fail_type(key, "an integer");
    return std::nullopt;
  }
  if (out_of_range || *n < min || *n > max) {
    fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

const boost::json::value* input_reader::optional_value(std::string_view key) {
  return field(key, false);
}

void input_reader::finish() {
  if (error_ || object_ == nullptr) return;
  for (const auto& kv : *object_) {
    std::string_view key(kv.key().data(), kv.key().size());
    if (std::find(read_.begin(), read_.end(), key) == read_.end()) {
      error_ = trpc_error{trpc_code::bad_request, prefix_ + ": unknown key " + quoted_key(key)};
      return;
    }
  }
}

}  // namespace nyxgate::api
