// JSON Schema to Gemini's Schema subset (providers/detail/gemini_schema.hpp).
#include "providers/detail/gemini_schema.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <span>
#include <string>

#include <boost/json.hpp>

namespace nyxgate::providers::detail {

namespace {

namespace json = boost::json;

/// Keywords Gemini's Schema has, passed on as they are.
constexpr std::array<std::string_view, 17> kept{
    "description", "format",           "nullable",      "required",      "minItems", "maxItems",
    "minimum",     "maximum",          "minLength",     "maxLength",     "pattern",  "title",
    "default",     "propertyOrdering", "minProperties", "maxProperties", "example"};

/// Annotations that change nothing Gemini checks.
constexpr std::array<std::string_view, 5> dropped{"$schema", "$id", "$comment", "examples",
                                                  "strict"};

constexpr std::array<std::string_view, 6> type_names{"string",  "number", "integer",
                                                     "boolean", "array",  "object"};

bool one_of(std::string_view key, std::span<const std::string_view> names) {
  return std::find(names.begin(), names.end(), key) != names.end();
}

bool known_type(std::string_view t) {
  return std::any_of(type_names.begin(), type_names.end(), [t](std::string_view n) {
    return t.size() == n.size() && std::equal(t.begin(), t.end(), n.begin(), [](char a, char b) {
             return (a >= 'A' && a <= 'Z' ? a + ('a' - 'A') : a) == b;
           });
  });
}

bool null_branch(const json::value& v) {
  const auto* o = v.if_object();
  if (!o || o->size() != 1) return false;
  const auto* t = o->if_contains("type");
  return t && t->is_string() && t->get_string() == "null";
}

/// One walk over a schema, `path_` naming where it is.
class converter {
 public:
  explicit converter(std::string_view where) : path_(where) {}

  std::optional<request_error> schema(const json::value& in, json::object& out) {
    const auto* o = in.if_object();
    if (!o) return refused_by_google(path_, "a schema must be a JSON object");
    for (const auto& [k, v] : *o) {
      std::string_view key = k;
      if (one_of(key, dropped) || (key == "additionalProperties" && v.is_bool() && !v.get_bool()) ||
          ((key == "$defs" || key == "definitions") && v.is_object() && v.get_object().empty()))
        continue;
      if (one_of(key, kept)) {
        out[key] = v;
        continue;
      }
      std::optional<request_error> e;
      if (key == "type")
        e = type(v, out);
      else if (key == "enum")
        e = enumeration(v, out);
      else if (key == "const")
        e = constant(v, out);
      else if (key == "properties")
        e = properties(v, out);
      else if (key == "items")
        e = items(v, out);
      else if (key == "anyOf")
        e = any_of(v, out);
      else
        e = refused(key);
      if (e) return e;
    }
    // JSON Schema lets `properties` or `items` imply the type; Gemini takes them only with it.
    if (!out.contains("type") && !out.contains("anyOf")) {
      if (out.contains("properties"))
        out["type"] = "object";
      else if (out.contains("items"))
        out["type"] = "array";
    }
    return std::nullopt;
  }

 private:
  std::string path_;

  /// Appends `.key` (or `[i]`) to the path for one nested walk and takes it off after.
  class descent {
   public:
    descent(std::string& path, std::string_view step) : path_(path), size_(path.size()) {
      path_ += step;
    }
    ~descent() { path_.resize(size_); }
    descent(const descent&) = delete;
    descent& operator=(const descent&) = delete;

   private:
    std::string& path_;
    std::size_t size_;
  };

  request_error refused(std::string_view key, std::string_view why = {}) {
    return refused_by_google(path_ + "." + std::string{key}, why);
  }

  std::optional<request_error> type(const json::value& v, json::object& out) {
    if (v.is_string() && known_type(v.get_string())) {
      out["type"] = v;
      return std::nullopt;
    }
    const auto* names = v.if_array();
    if (!names)
      return refused("type",
                     "a type is one of string, number, integer, boolean, "
                     "array, object");
    const json::value* only = nullptr;
    bool nullable = false;
    for (const auto& n : *names) {
      if (n.is_string() && n.get_string() == "null") {
        nullable = true;
      } else if (!only && n.is_string() && known_type(n.get_string())) {
        only = &n;
      } else {
        return refused("type", "Gemini takes one type, optionally with \"null\"");
      }
    }
    if (!only) return refused("type", "Gemini takes one type, optionally with \"null\"");
    out["type"] = *only;
    if (nullable) out["nullable"] = true;
    return std::nullopt;
  }

  std::optional<request_error> enumeration(const json::value& v, json::object& out) {
    const auto* values = v.if_array();
    if (!values || !std::all_of(values->begin(), values->end(),
                                [](const json::value& x) { return x.is_string(); }))
      return refused("enum", "Gemini's enum values are strings");
    out["enum"] = v;
    return std::nullopt;
  }

  std::optional<request_error> constant(const json::value& v, json::object& out) {
    if (!v.is_string()) return refused("const", "Gemini's enum values are strings");
    out["enum"] = json::array{v};
    return std::nullopt;
  }

  std::optional<request_error> properties(const json::value& v, json::object& out) {
    const auto* props = v.if_object();
    if (!props) return refused("properties", "properties must be a JSON object");
    json::object converted;
    for (const auto& [name, sub] : *props) {
      descent d(path_, ".properties." + std::string{name});
      json::object s;
      if (auto e = schema(sub, s)) return e;
      converted[name] = std::move(s);
    }
    out["properties"] = std::move(converted);
    return std::nullopt;
  }

  std::optional<request_error> items(const json::value& v, json::object& out) {
    if (!v.is_object()) return refused("items", "Gemini takes one items schema, not a tuple");
    descent d(path_, ".items");
    json::object s;
    if (auto e = schema(v, s)) return e;
    out["items"] = std::move(s);
    return std::nullopt;
  }

  /// A `{"type": "null"}` branch becomes `nullable` (how Pydantic writes an optional field);
  /// when one branch is left, it is the schema itself.
  std::optional<request_error> any_of(const json::value& v, json::object& out) {
    const auto* branches = v.if_array();
    if (!branches || branches->empty()) return refused("anyOf", "anyOf must be a non-empty array");
    json::array converted;
    bool nullable = false;
    for (std::size_t i = 0; i < branches->size(); ++i) {
      if (null_branch((*branches)[i])) {
        nullable = true;
        continue;
      }
      descent d(path_, ".anyOf[" + std::to_string(i) + "]");
      json::object s;
      if (auto e = schema((*branches)[i], s)) return e;
      converted.push_back(std::move(s));
    }
    if (converted.empty()) return refused("anyOf", "Gemini takes no schema of type null alone");
    if (nullable) out["nullable"] = true;
    if (converted.size() > 1) {
      out["anyOf"] = std::move(converted);
      return std::nullopt;
    }
    for (auto& [k, x] : converted[0].as_object())
      if (!out.contains(k)) out[k] = std::move(x);
    return std::nullopt;
  }
};

}  // namespace

request_error refused_by_google(std::string where, std::string_view why) {
  std::string message = where + " is not supported by provider google";
  if (!why.empty()) message.append(": ").append(why);
  return request_error{std::move(message), std::move(where), "unsupported_parameter"};
}

std::variant<json::value, request_error> gemini_schema(std::string_view schema,
                                                       std::string_view where) {
  boost::system::error_code ec;
  auto in = json::parse(schema, ec);
  if (ec) return refused_by_google(std::string{where}, "the schema is not valid JSON");
  json::object out;
  converter c(where);
  if (auto e = c.schema(in, out)) return std::move(*e);
  return json::value(std::move(out));
}

}  // namespace nyxgate::providers::detail
