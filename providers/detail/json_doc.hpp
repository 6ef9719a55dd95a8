#pragma once
// simdjson behind a few lookups, for the providers' translation code only (the adapters,
// chat_request.cpp, chat_answers.cpp): keep this header out of anything widely included.

#include <array>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <string_view>

#include <simdjson.h>

namespace nyxgate::providers::detail {

namespace dom = simdjson::dom;

/// A value of a parsed document, or none (a missing key, or a value of another type on the
/// way there): lookups chain without checks in between.
struct node {
  dom::element value;
  bool present = false;

  explicit operator bool() const { return present; }
  dom::element_type type() const { return value.type(); }
  bool is(dom::element_type t) const { return present && value.type() == t; }
  bool is_object() const { return is(dom::element_type::OBJECT); }
  bool is_array() const { return is(dom::element_type::ARRAY); }
  bool is_string() const { return is(dom::element_type::STRING); }
  bool is_bool() const { return is(dom::element_type::BOOL); }
  bool is_null() const { return is(dom::element_type::NULL_VALUE); }
};

/// A parsed JSON document (a stream event is parsed per event, so this is on the hot path).
/// The parser's buffers are kept
/// per thread; a parse while another document of the same thread is still alive gets a parser
/// of its own rather than overwriting that document. Nesting is limited to 64 levels.
class parsed_json {
 public:
  explicit parsed_json(std::string_view text) {
    thread_local dom::parser shared = make_parser();
    thread_local bool shared_busy = false;
    dom::parser* parser = &shared;
    if (shared_busy) {
      own_.emplace(make_parser());
      parser = &*own_;
    } else {
      shared_busy = true;
      busy_ = &shared_busy;
      shared_ = &shared;
    }
    dom::element root;
    error = parser->parse(text.data(), text.size(), true).get(root);
    ok = error == simdjson::SUCCESS;
    if (ok) value = node{root, true};
  }
  ~parsed_json() {
    if (!busy_) return;
    // A rare large document grew the parser's buffers: give that memory back.
    if (shared_->capacity() > (1 << 20)) *shared_ = make_parser();
    *busy_ = false;
  }
  parsed_json(const parsed_json&) = delete;
  parsed_json& operator=(const parsed_json&) = delete;

  node value;
  bool ok = false;
  simdjson::error_code error = simdjson::SUCCESS;

 private:
  static dom::parser make_parser() {
    dom::parser p;
    if (p.allocate(64 << 10, 64) != simdjson::SUCCESS) throw std::bad_alloc();
    return p;
  }

  std::optional<dom::parser> own_;
  dom::parser* shared_ = nullptr;
  bool* busy_ = nullptr;
};

inline node at(node v, std::string_view key) {
  dom::object o;
  dom::element out;
  if (!v || v.value.get(o) != simdjson::SUCCESS || o.at_key(key).get(out) != simdjson::SUCCESS)
    return {};
  return {out, true};
}

/// Several keys of one object in one pass over its fields (`at` scans the fields once per
/// key, and a missing key scans them all). Each slot gets the first field of its name, as
/// `at` would.
template <std::size_t N>
std::array<node, N> pick(node v, const std::array<std::string_view, N>& keys) {
  std::array<node, N> out{};
  dom::object o;
  if (!v || v.value.get(o) != simdjson::SUCCESS) return out;
  std::size_t found = 0;
  for (auto field : o) {
    for (std::size_t i = 0; i < N; ++i) {
      // Length and first byte before the comparison call: most keys differ right there.
      const auto& k = keys[i];
      if (!out[i] && field.key.size() == k.size() && (k.empty() || field.key[0] == k[0]) &&
          field.key == k) {
        out[i] = node{field.value, true};
        if (++found == N) return out;
        break;
      }
    }
  }
  return out;
}

/// `pick` that reads every field and reports the first one of none of the names in
/// `unknown` (so nothing a client sends goes unseen), still in one pass.
template <std::size_t N>
std::array<node, N> pick_all(node v, const std::array<std::string_view, N>& keys,
                             std::optional<std::string_view>& unknown) {
  std::array<node, N> out{};
  dom::object o;
  if (!v || v.value.get(o) != simdjson::SUCCESS) return out;
  for (auto field : o) {
    std::size_t i = 0;
    for (; i < N; ++i) {
      const auto& k = keys[i];
      if (field.key.size() == k.size() && (k.empty() || field.key[0] == k[0]) && field.key == k)
        break;
    }
    if (i == N) {
      if (!unknown) unknown = field.key;
    } else if (!out[i]) {
      out[i] = node{field.value, true};
    }
  }
  return out;
}

inline std::string_view str(node v) {
  std::string_view s;
  if (!v || v.value.get(s) != simdjson::SUCCESS) return {};
  return s;
}

/// A number as a positive count (token counts): 0 for anything else.
inline std::int64_t num(node v) {
  if (!v) return 0;
  switch (v.value.type()) {
    case dom::element_type::INT64:
      return v.value.get_int64().value_unsafe();
    case dom::element_type::UINT64:
      return static_cast<std::int64_t>(v.value.get_uint64().value_unsafe());
    case dom::element_type::DOUBLE: {
      double d = v.value.get_double().value_unsafe();
      return d > 0 && d < 9e15 ? static_cast<std::int64_t>(d) : 0;
    }
    default:
      return 0;
  }
}

/// Calls `fn(node)` for each element when `v` is an array; false when it is not one.
template <class Fn>
bool each(node v, Fn&& fn) {
  dom::array a;
  if (!v || v.value.get(a) != simdjson::SUCCESS) return false;
  for (dom::element x : a) fn(node{x, true});
  return true;
}

/// The first element of an array, or none (not an array, or empty).
inline node first(node v) {
  dom::array a;
  if (!v || v.value.get(a) != simdjson::SUCCESS) return {};
  for (dom::element x : a) return {x, true};
  return {};
}

}  // namespace nyxgate::providers::detail
