#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/call_sink.hpp"
#include "net/http/types.hpp"

namespace nyxgate::api {

/// An error as OpenAI's clients read it (SPEC §4), whatever carries it.
struct error_fields {
  error_fields() = default;
  error_fields(std::string_view message_, std::string_view type_, std::string_view code_,
               std::string_view param_ = {})
      : message(message_), type(type_), code(code_), param(param_) {}

  std::string_view message;
  std::string_view type;   ///< invalid_request_error | server_error | upstream_error | ...
  std::string_view code;   ///< empty renders null
  std::string_view param;  ///< empty renders null
  unsigned status = 0;     ///< listed when non-zero (WebSocket frames carry no HTTP status)
  const std::vector<actors::attempt_record>* attempts = nullptr;  ///< listed when set
};

/// The one error renderer: appends the object
/// `{"message","type","code","param"[,"status"][,"attempts":[{provider,scope,status,reason}]]}`.
void append_error_object(std::string& out, const error_fields& e);

/// OpenAI's error body `{"error":{...}}`: a JSON answer, or an SSE error event's data.
std::string render_error(const error_fields& e);

/// A WebSocket error frame `{"type":"error"[,"id"],"error":{...}}` (`id` empty: none).
std::string render_ws_error(std::string_view id, const error_fields& e);

/// An HTTP answer with OpenAI's error body.
net::http_response error_response(unsigned status, std::string_view type, std::string_view code,
                                  std::string_view message, std::string_view param = {});

/// A data-plane answer with OpenAI's error body.
net::http_response data_plane_error(unsigned status, std::string_view type, std::string_view code,
                                    std::string_view message, std::string_view param = {});

/// The 415 for a body whose content type says it is not JSON (none at all is taken as JSON).
std::optional<net::http_response> non_json_body(const net::http_request& request);

/// The wire code of a call error (SPEC §3).
std::string_view wire_code(actors::call_error e);

/// A call failure's fields; `with_status` for the carriers without an HTTP status line.
error_fields failure_fields(const actors::call_failure& f, bool with_status);

}  // namespace nyxgate::api
