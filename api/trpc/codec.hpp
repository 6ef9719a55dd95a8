#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

/// The tRPC HTTP wire format as spoken by @trpc/client v11 (httpLink, httpBatchLink, no
/// transformer). Pure: no sockets, no actors, so every rule here is unit-tested.
namespace nyxgate::api {

/// tRPC's error codes (TRPC_ERROR_CODES_BY_KEY), each with its JSON-RPC code and HTTP status.
enum class trpc_code {
  parse_error,             ///< -32700, 400
  bad_request,             ///< -32600, 400
  unauthorized,            ///< -32001, 401
  payment_required,        ///< -32002, 402
  forbidden,               ///< -32003, 403
  not_found,               ///< -32004, 404
  method_not_supported,    ///< -32005, 405
  timeout,                 ///< -32008, 408
  conflict,                ///< -32009, 409
  precondition_failed,     ///< -32012, 412
  payload_too_large,       ///< -32013, 413
  unsupported_media_type,  ///< -32015, 415
  unprocessable_content,   ///< -32022, 422
  precondition_required,   ///< -32028, 428
  too_many_requests,       ///< -32029, 429
  client_closed_request,   ///< -32099, 499
  internal_server_error,   ///< -32603, 500
  not_implemented,         ///< -32603, 501
  bad_gateway,             ///< -32603, 502
  service_unavailable,     ///< -32603, 503
  gateway_timeout,         ///< -32603, 504
};

/// "BAD_REQUEST", as in `error.data.code`.
std::string_view trpc_code_name(trpc_code code);
/// -32600, as in `error.code`.
int trpc_json_rpc_code(trpc_code code);
/// 400, as in `error.data.httpStatus` and the HTTP status line.
unsigned trpc_http_status(trpc_code code);

struct trpc_error {
  trpc_code code;
  std::string message;
};

/// A subscription answers GET with a stream of Server-Sent Events (httpSubscriptionLink).
enum class trpc_kind { query, mutation, subscription };

struct trpc_call {
  std::string path;                         ///< dotted procedure path, url-decoded: "members.add"
  std::optional<boost::json::value> input;  ///< nullopt: the client sent `undefined`
};

struct trpc_request {
  std::vector<trpc_call> calls;
  bool batch = false;
  /// From the HTTP method: GET carries queries, POST carries mutations.
  trpc_kind kind = trpc_kind::query;
};

struct trpc_parse_limits {
  std::size_t max_batch = 32;
  int max_json_depth = 64;
};

/// Parses one tRPC HTTP request. `method` is "GET" or "POST" (anything else is
/// METHOD_NOT_SUPPORTED); `target` is the full request target beginning with "/trpc/" (path and
/// url-encoded query string); `body` is the POST body (ignored for GET). Failures: PARSE_ERROR
/// for malformed JSON or bad url-encoding in the query string, BAD_REQUEST for bad url-encoding
/// in the path, a missing procedure path, JSON nested deeper than the limit, a batch over
/// `max_batch`, or a batch input that is not an object.
std::variant<trpc_request, trpc_error> parse_trpc_request(std::string_view method,
                                                          std::string_view target,
                                                          std::string_view body,
                                                          const trpc_parse_limits& limits);

/// The METHOD_NOT_SUPPORTED error tRPC gives when a query is called with POST or a mutation with
/// GET; nullopt when `method` suits a procedure of `kind`.
std::optional<trpc_error> check_trpc_method(trpc_kind kind, std::string_view method,
                                            std::string_view path);

/// The result of one call: data or error.
using trpc_outcome = std::variant<boost::json::value, trpc_error>;

struct trpc_http_reply {
  unsigned status = 200;
  std::string body;
  /// The value of an `Allow` header when status is 405 (RFC 9110 15.5.6), else empty.
  std::string allow;
};

/// Renders the reply to `req`: an array of envelopes for a batch, one envelope otherwise;
/// `outcomes` is index-aligned with `req.calls`. Status: the calls' common status, 207 when they
/// differ (success counts as 200).
trpc_http_reply render_trpc_reply(const trpc_request& req,
                                  const std::vector<trpc_outcome>& outcomes);

/// A single error envelope, for failures before any call could be identified (parse errors).
/// An empty `path` leaves `error.data.path` out.
trpc_http_reply render_trpc_error(const trpc_error& err, std::string_view path = {});

/// The Server-Sent Events of a tRPC subscription, as @trpc/client's httpSubscriptionLink reads
/// them: `connected` first, then one unnamed event per value, `return` when the stream ends,
/// `ping` to keep an idle connection alive, or `serialized-error` carrying the error's shape
/// (as in an error envelope) in place of the values.
std::string trpc_sse_connected();
std::string trpc_sse_data(const boost::json::value& value);
std::string trpc_sse_return();
std::string trpc_sse_ping();
std::string trpc_sse_error(const trpc_error& err, std::string_view path);

}  // namespace nyxgate::api
