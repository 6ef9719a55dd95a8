#include "api/openai/errors.hpp"

#include <charconv>

#include "telemetry/json_escape.hpp"

namespace nyxgate::api {

using namespace std::string_view_literals;

namespace {

/// `key` is the field's name with its punctuation (`,"type":`); empty `value`s render null
/// where `or_null`.
void append_field(std::string& out, std::string_view key, std::string_view value,
                  bool or_null = false) {
  out.append(key);
  if (or_null && value.empty()) {
    out.append("null"sv);
    return;
  }
  out += '"';
  telemetry::append_json_escaped(out, value);
  out += '"';
}

void append_field(std::string& out, std::string_view key, unsigned n) {
  out.append(key);
  char digits[16];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

}  // namespace

void append_error_object(std::string& out, const error_fields& e) {
  append_field(out, R"({"message":)"sv, e.message);
  append_field(out, R"(,"type":)"sv, e.type);
  append_field(out, R"(,"code":)"sv, e.code, true);
  append_field(out, R"(,"param":)"sv, e.param, true);
  if (e.status != 0) append_field(out, R"(,"status":)"sv, e.status);
  if (e.attempts) {
    out.append(R"(,"attempts":[)"sv);
    for (const auto& a : *e.attempts) {
      if (&a != &e.attempts->front()) out += ',';
      append_field(out, R"({"provider":)"sv, a.provider);
      append_field(out, R"(,"scope":)"sv, a.scope);
      append_field(out, R"(,"status":)"sv, a.status);
      append_field(out, R"(,"reason":)"sv, a.reason);
      out += '}';
    }
    out += ']';
  }
  out += '}';
}

std::string render_error(const error_fields& e) {
  std::string out;
  out.reserve(e.message.size() + 96);
  out.append(R"({"error":)"sv);
  append_error_object(out, e);
  out += '}';
  return out;
}

std::string render_ws_error(std::string_view id, const error_fields& e) {
  std::string out;
  out.reserve(e.message.size() + id.size() + 112);
  out.append(R"({"type":"error",)"sv);
  if (!id.empty()) {
    append_field(out, R"("id":)"sv, id);
    out += ',';
  }
  out.append(R"("error":)"sv);
  append_error_object(out, e);
  out += '}';
  return out;
}

net::http_response error_response(unsigned status, std::string_view type, std::string_view code,
                                  std::string_view message, std::string_view param) {
  net::http_response out;
  out.status = status;
  out.body = render_error(error_fields{message, type, code, param});
  return out;
}

net::http_response data_plane_error(unsigned status, std::string_view type, std::string_view code,
                                    std::string_view message, std::string_view param) {
  auto out = error_response(status, type, code, message, param);
  out.route = telemetry::route_kind::data_plane;
  return out;
}

std::optional<net::http_response> non_json_body(const net::http_request& request) {
  auto content_type = request.header("content-type");
  if (content_type.empty() || content_type.find("json") != std::string_view::npos)
    return std::nullopt;
  return data_plane_error(415, "invalid_request_error", "unsupported_media_type",
                          "the body must be application/json");
}

std::string_view wire_code(actors::call_error e) {
  // In the order of the enum.
  static constexpr std::string_view codes[] = {
      "upstream_failed"sv, "upstream_timeout"sv, "upstream_rejected"sv,    "keys_unavailable"sv,
      "no_provider_key"sv, "invalid_request"sv,  "server_shutting_down"sv, "stream_interrupted"sv,
  };
  auto i = static_cast<std::size_t>(e);
  return i < std::size(codes) ? codes[i] : codes[0];
}

error_fields failure_fields(const actors::call_failure& f, bool with_status) {
  using actors::call_error;
  error_fields e;
  e.message = f.message;
  e.code = wire_code(f.error);
  e.param = f.param;
  if (with_status) e.status = f.status;
  switch (f.error) {
    case call_error::upstream_failed:
    case call_error::upstream_timeout:
      e.type = "upstream_error"sv;
      e.attempts = &f.attempts;
      break;
    case call_error::stream_interrupted:
      e.type = "upstream_error"sv;
      break;
    case call_error::keys_unavailable:
    case call_error::server_shutting_down:
      e.type = "server_error"sv;
      break;
    case call_error::upstream_rejected:
      e.type = f.type.empty() ? "invalid_request_error"sv : std::string_view{f.type};
      break;
    case call_error::invalid_request:
      if (!f.code.empty()) e.code = f.code;
      e.type = "invalid_request_error"sv;
      break;
    case call_error::no_provider_key:
      e.type = "invalid_request_error"sv;
      break;
  }
  return e;
}

}  // namespace nyxgate::api
