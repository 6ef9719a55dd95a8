#include "api/trpc/codec.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <system_error>

#include <boost/json/error.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>

#include "api/trpc/input.hpp"

namespace nyxgate::api {

namespace {

struct code_info {
  std::string_view name;
  int json_rpc;
  unsigned http;
};

/// Indexed by trpc_code; from @trpc/server's TRPC_ERROR_CODES_BY_KEY and JSONRPC2_TO_HTTP_CODE.
constexpr std::array<code_info, 21> code_table{{
    {"PARSE_ERROR", -32700, 400},
    {"BAD_REQUEST", -32600, 400},
    {"UNAUTHORIZED", -32001, 401},
    {"PAYMENT_REQUIRED", -32002, 402},
    {"FORBIDDEN", -32003, 403},
    {"NOT_FOUND", -32004, 404},
    {"METHOD_NOT_SUPPORTED", -32005, 405},
    {"TIMEOUT", -32008, 408},
    {"CONFLICT", -32009, 409},
    {"PRECONDITION_FAILED", -32012, 412},
    {"PAYLOAD_TOO_LARGE", -32013, 413},
    {"UNSUPPORTED_MEDIA_TYPE", -32015, 415},
    {"UNPROCESSABLE_CONTENT", -32022, 422},
    {"PRECONDITION_REQUIRED", -32028, 428},
    {"TOO_MANY_REQUESTS", -32029, 429},
    {"CLIENT_CLOSED_REQUEST", -32099, 499},
    {"INTERNAL_SERVER_ERROR", -32603, 500},
    {"NOT_IMPLEMENTED", -32603, 501},
    {"BAD_GATEWAY", -32603, 502},
    {"SERVICE_UNAVAILABLE", -32603, 503},
    {"GATEWAY_TIMEOUT", -32603, 504},
}};
static_assert(static_cast<std::size_t>(trpc_code::gateway_timeout) + 1 == code_table.size());

const code_info& info(trpc_code code) {
  auto i = static_cast<std::size_t>(code);
  return i < code_table.size()
             ? code_table[i]
             : code_table[static_cast<std::size_t>(trpc_code::internal_server_error)];
}

constexpr std::string_view prefix = "/trpc/";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// decodeURIComponent, plus '+' as space when decoding a query component (URLSearchParams).
/// nullopt on a malformed escape or a result that is not UTF-8.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  if (!detail::valid_utf8(out)) return std::nullopt;
  return out;
}

struct query_params {
  std::optional<std::string> input;
  std::optional<std::string> batch;
};

std::optional<query_params> parse_query(std::string_view query) {
  query_params out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    if (!key) return std::nullopt;
    std::optional<std::string>* slot = nullptr;
    if (*key == "input") slot = &out.input;
    if (*key == "batch") slot = &out.batch;
    if (slot == nullptr || slot->has_value()) continue;  // first occurrence wins, as get() does
    auto value = percent_decode(
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!value) return std::nullopt;
    *slot = std::move(*value);
  }
  return out;
}

bool valid_path(std::string_view path) {
  return std::none_of(path.begin(), path.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

std::variant<boost::json::value, trpc_error> parse_json(std::string_view text,
                                                        const trpc_parse_limits& limits) {
  boost::json::parse_options opts;
  opts.max_depth = static_cast<std::size_t>(std::max(limits.max_json_depth, 1));
  std::error_code ec;
  auto value = boost::json::parse(text, ec, {}, opts);
  if (ec == boost::json::error::too_deep)
    return trpc_error{trpc_code::bad_request,
                      "input JSON nests deeper than " + std::to_string(opts.max_depth) + " levels"};
  if (ec) return trpc_error{trpc_code::parse_error, "input is not valid JSON: " + ec.message()};
  return value;
}

trpc_error error(trpc_code code, std::string message) {
  return {code, std::move(message)};
}

boost::json::object error_shape(const trpc_error& err, const std::string_view* path) {
  const auto& i = info(err.code);
  boost::json::object data;
  data["code"] = i.name;
  data["httpStatus"] = i.http;
  if (path != nullptr) data["path"] = *path;
  boost::json::object shape;
  shape["message"] = err.message;
  shape["code"] = i.json_rpc;
  shape["data"] = std::move(data);
  return shape;
}

void append_envelope(std::string& out, const trpc_outcome& outcome, std::string_view path) {
  if (const auto* value = std::get_if<boost::json::value>(&outcome)) {
    out += R"({"result":{"data":)";
    out += boost::json::serialize(*value);
    out += "}}";
    return;
  }
  boost::json::object envelope;
  envelope["error"] = error_shape(std::get<trpc_error>(outcome), &path);
  out += boost::json::serialize(envelope);
}

unsigned outcome_status(const trpc_outcome& outcome) {
  if (const auto* err = std::get_if<trpc_error>(&outcome)) return trpc_http_status(err->code);
  return 200;
}

}  // namespace

std::string_view trpc_code_name(trpc_code code) {
  return info(code).name;
}
int trpc_json_rpc_code(trpc_code code) {
  return info(code).json_rpc;
}
unsigned trpc_http_status(trpc_code code) {
  return info(code).http;
}

std::variant<trpc_request, trpc_error> parse_trpc_request(std::string_view method,
                                                          std::string_view target,
                                                          std::string_view body,
                                                          const trpc_parse_limits& limits) {
  trpc_request req;
  if (method == "GET") {
    req.kind = trpc_kind::query;
  } else if (method == "POST") {
    req.kind = trpc_kind::mutation;
  } else {
    return error(trpc_code::method_not_supported,
                 "Unsupported " + std::string(method.substr(0, 16)) +
                     "-request: tRPC takes GET for queries and POST for mutations");
  }

  if (!target.starts_with(prefix)) return error(trpc_code::bad_request, "missing procedure path");
  target.remove_prefix(prefix.size());
  if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  auto qmark = target.find('?');
  auto raw_path = target.substr(0, qmark);
  auto raw_query = qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1);

  auto path = percent_decode(raw_path, false);
  if (!path) return error(trpc_code::bad_request, "Invalid URL-encoding in procedure path");
  auto query = parse_query(raw_query);
  if (!query) return error(trpc_code::parse_error, "Invalid URL-encoding in query string");
  req.batch = query->batch == "1";

  // A batch names its calls "a.b,c.d"; a single call's path is taken whole.
  std::vector<std::string> paths;
  if (req.batch) {
    std::string_view rest = *path;
    while (true) {
      auto comma = rest.find(',');
      paths.emplace_back(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
      if (paths.size() > limits.max_batch) break;
    }
    if (paths.size() > limits.max_batch)
      return error(trpc_code::bad_request,
                   "Batch call exceeds maximum size of " + std::to_string(limits.max_batch));
  } else {
    paths.push_back(std::move(*path));
  }
  for (const auto& p : paths) {
    if (p.empty()) return error(trpc_code::bad_request, "missing procedure path");
    if (!valid_path(p)) return error(trpc_code::bad_request, "invalid procedure path");
  }

  // GET carries the input in ?input=, POST in the body; empty means `undefined` (httpLink sends
  // no body and no ?input= for an undefined input).
  std::string_view raw_input = body;
  if (req.kind == trpc_kind::query)
    raw_input = query->input ? std::string_view(*query->input) : std::string_view{};
  std::optional<boost::json::value> input;
  if (!raw_input.empty()) {
    auto parsed = parse_json(raw_input, limits);
    if (auto* err = std::get_if<trpc_error>(&parsed)) return std::move(*err);
    input = std::move(std::get<boost::json::value>(parsed));
  }

  req.calls.reserve(paths.size());
  if (!req.batch) {
    req.calls.push_back({std::move(paths.front()), std::move(input)});
    return req;
  }
  const boost::json::object* inputs = nullptr;
  if (input) {
    inputs = input->if_object();
    if (inputs == nullptr)
      return error(trpc_code::bad_request,
                   "\"input\" needs to be an object when doing a batch call");
  }
  for (std::size_t i = 0; i < paths.size(); ++i) {
    trpc_call call{std::move(paths[i]), std::nullopt};
    if (inputs != nullptr)
      if (auto it = inputs->find(std::to_string(i)); it != inputs->end()) call.input = it->value();
    req.calls.push_back(std::move(call));
  }
  return req;
}

std::optional<trpc_error> check_trpc_method(trpc_kind kind, std::string_view method,
                                            std::string_view path) {
  std::string_view wanted = kind == trpc_kind::mutation ? "POST" : "GET";
  if (method == wanted) return std::nullopt;
  std::string_view name = kind == trpc_kind::query      ? "query"
                          : kind == trpc_kind::mutation ? "mutation"
                                                        : "subscription";
  return error(trpc_code::method_not_supported,
               "Unsupported " + std::string(method.substr(0, 16)) + "-request to " +
                   std::string(name) + " procedure at path \"" + std::string(path) + "\"");
}

trpc_http_reply render_trpc_reply(const trpc_request& req,
                                  const std::vector<trpc_outcome>& outcomes) {
  static const trpc_outcome missing{
      trpc_error{trpc_code::internal_server_error, "no result for this call"}};
  auto outcome_at = [&](std::size_t i) -> const trpc_outcome& {
    return i < outcomes.size() ? outcomes[i] : missing;
  };
  auto path_at = [&](std::size_t i) -> std::string_view {
    return i < req.calls.size() ? std::string_view(req.calls[i].path) : std::string_view{};
  };

  trpc_http_reply reply;
  if (!req.batch) {
    append_envelope(reply.body, outcome_at(0), path_at(0));
    reply.status = outcome_status(outcome_at(0));
  } else {
    const std::size_t n = std::max(req.calls.size(), outcomes.size());
    reply.body.push_back('[');
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) reply.body.push_back(',');
      append_envelope(reply.body, outcome_at(i), path_at(i));
      unsigned status = outcome_status(outcome_at(i));
      if (i == 0)
        reply.status = status;
      else if (status != reply.status)
        reply.status = 207;
    }
    reply.body.push_back(']');
    if (n == 0) reply.status = 200;
  }
  // The procedure accepts the other method: a GET reached a mutation, a POST a query.
  if (reply.status == 405) reply.allow = req.kind == trpc_kind::query ? "POST" : "GET";
  return reply;
}

trpc_http_reply render_trpc_error(const trpc_error& err, std::string_view path) {
  boost::json::object envelope;
  envelope["error"] = error_shape(err, path.empty() ? nullptr : &path);
  trpc_http_reply reply;
  reply.status = trpc_http_status(err.code);
  reply.body = boost::json::serialize(envelope);
  if (reply.status == 405) reply.allow = "GET, POST";
  return reply;
}

std::string trpc_sse_connected() {
  return "event: connected\ndata: {}\n\n";
}

std::string trpc_sse_data(const boost::json::value& value) {
  // JSON text holds no raw line break, so the value is one `data:` line.
  return "data: " + boost::json::serialize(value) + "\n\n";
}

std::string trpc_sse_return() {
  return "event: return\ndata: \n\n";
}

std::string trpc_sse_ping() {
  return "event: ping\ndata: \n\n";
}

std::string trpc_sse_error(const trpc_error& err, std::string_view path) {
  return "event: serialized-error\ndata: " +
         boost::json::serialize(error_shape(err, path.empty() ? nullptr : &path)) + "\n\n";
}

}  // namespace nyxgate::api
