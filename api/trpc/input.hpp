#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "api/trpc/codec.hpp"
#include "telemetry/utf8.hpp"

namespace nyxgate::api {

/// Reads the fields of one procedure input object, remembering which keys were read; finish()
/// rejects the keys nobody read. The first failure wins and is kept as a BAD_REQUEST naming the
/// field: `input.email: expected a string`, `input: unknown key "tenantId"`. After a failure every
/// accessor returns an empty value, so a procedure reads all fields, then checks ok() once.
/// Optional fields treat `null` like an absent key. Strings are kept exactly (no trimming);
/// lengths count Unicode code points. The reader refers to `input`, which must outlive it.
class input_reader {
 public:
  /// `allow_undefined`: an undefined or null input reads as `{}` (a procedure whose fields are
  /// all optional).
  explicit input_reader(const std::optional<boost::json::value>& input,
                        bool allow_undefined = false);
  explicit input_reader(std::nullopt_t, bool allow_undefined = false)
      : input_reader(nullptr, "input", allow_undefined) {}
  /// The reader refers to its input: a temporary would dangle.
  explicit input_reader(std::optional<boost::json::value>&& input,
                        bool allow_undefined = false) = delete;
  /// A nested object, e.g. `input_reader(r.optional_value("models"), "input.models")`; nullptr
  /// means absent.
  input_reader(const boost::json::value* input, std::string field_prefix,
               bool allow_undefined = false);

  std::string required_string(std::string_view key, std::size_t min_len = 1,
                              std::size_t max_len = 256);
  std::optional<std::string> optional_string(std::string_view key, std::size_t max_len = 256);
  /// A credential that goes into an upstream header as it is: printable ASCII only, so no
  /// whitespace or control character. The failure never quotes the value.
  std::string required_secret(std::string_view key, std::size_t min_len, std::size_t max_len);
  std::string required_enum(std::string_view key, std::initializer_list<std::string_view> allowed);
  std::optional<std::string> optional_enum(std::string_view key,
                                           std::initializer_list<std::string_view> allowed);
  /// The same over a list known at run time (the registry's provider ids).
  std::string required_one_of(std::string_view key, std::span<const std::string_view> allowed);
  std::optional<std::string> optional_one_of(std::string_view key,
                                             std::span<const std::string_view> allowed);
  /// Canonical 8-4-4-4-12 hex, returned lower-cased.
  std::string required_uuid(std::string_view key);
  /// Sanity only: one '@' with text on both sides, no whitespace or control characters, at most
  /// 254 bytes; returned lower-cased.
  std::string required_email(std::string_view key);
  std::optional<bool> optional_bool(std::string_view key);
  /// An integer in [min, max]; a JSON number with an integral value (3.0) counts.
  std::optional<std::int64_t> optional_int(std::string_view key, std::int64_t min,
                                           std::int64_t max);
  /// Raw access for nested shapes; nullptr when absent. Marks the key as read.
  const boost::json::value* optional_value(std::string_view key);

  /// Records a failure for a field (first failure wins), for checks the accessors cannot make.
  void fail(std::string_view key, std::string_view what);

  /// No failure so far (call finish() first).
  bool ok() const { return !error_.has_value(); }
  /// Rejects keys no accessor read.
  void finish();
  const std::optional<trpc_error>& error() const { return error_; }

 private:
  /// The field's value, nullptr when absent; marks the key as read. Null counts as absent when
  /// `null_is_absent`.
  const boost::json::value* field(std::string_view key, bool null_is_absent);
  void fail_type(std::string_view key, std::string_view expected);
  /// A string field's value checked for NUL, UTF-8 and length; nullopt (and a failure) if not.
  std::optional<std::string> checked_string(std::string_view key, const boost::json::value& v,
                                            std::size_t min_len, std::size_t max_len);

  const boost::json::object* object_ = nullptr;
  std::string prefix_;
  std::vector<std::string> read_;
  std::optional<trpc_error> error_;
};

namespace detail {
using telemetry::valid_utf8;
}  // namespace detail

}  // namespace nyxgate::api

/// Inside a procedure coroutine: rejects unknown keys and returns the reader's BAD_REQUEST,
/// if any, as the procedure's result.
#define NYXGATE_FINISH_INPUT(reader) \
  reader.finish();                   \
  if (!reader.ok()) co_return *reader.error()
