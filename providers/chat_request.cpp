// The client's request (parse_chat_request, SPEC §4) and what the provider that serves it
// makes of it: the adapter's field handling and upstream request, through the registry.
#include <algorithm>
#include <array>

#include "providers/adapter.hpp"
#include "providers/chat.hpp"
#include "providers/detail/json_doc.hpp"
#include "providers/detail/request_fields.hpp"
#include "providers/registry.hpp"
#include "providers/resolution.hpp"

namespace nyxgate::providers {

namespace {

using detail::unknown_parameter;

bool known_role(std::string_view r) {
  return r == "system" || r == "developer" || r == "user" || r == "assistant" || r == "tool";
}

bool ascii_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/// Every top-level field of OpenAI's chat request, the most frequent first (they are
/// compared in this order). `field` names the positions.
constexpr std::array<std::string_view, 35> top_level_fields{
    "model", "messages", "stream", "max_tokens", "temperature", "stream_options", "top_p",
    "max_completion_tokens", "stop", "n",
    // provider-dependent: chat_param, in `provider_param_ids`' order
    "user", "frequency_penalty", "presence_penalty", "seed", "logit_bias", "metadata", "prediction",
    "prompt_cache_key", "prompt_cache_retention", "reasoning_effort", "response_format",
    "safety_identifier", "service_tier", "store", "verbosity",
    // provider-dependent, read into the request's structure too
    "tools", "tool_choice", "parallel_tool_calls",
    // refused for every provider unless their value asks for the default
    "logprobs", "modalities",
    // refused for every provider
    "top_logprobs", "audio", "functions", "function_call", "web_search_options"};

namespace field {
enum : std::size_t {
  model,
  messages,
  stream,
  max_tokens,
  temperature,
  stream_options,
  top_p,
  max_completion_tokens,
  stop,
  n,
  first_provider_param,
  tools = first_provider_param + 15,
  tool_choice,
  parallel_tool_calls,
  logprobs,
  modalities,
  first_refused,
};
}  // namespace field

constexpr std::array<chat_param, field::tools - field::first_provider_param> provider_param_ids{
    chat_param::user,
    chat_param::frequency_penalty,
    chat_param::presence_penalty,
    chat_param::seed,
    chat_param::logit_bias,
    chat_param::metadata,
    chat_param::prediction,
    chat_param::prompt_cache_key,
    chat_param::prompt_cache_retention,
    chat_param::reasoning_effort,
    chat_param::response_format,
    chat_param::safety_identifier,
    chat_param::service_tier,
    chat_param::store,
    chat_param::verbosity};

static_assert(field::first_refused + 5 == top_level_fields.size());
static_assert(top_level_fields[field::tools] == "tools");
static_assert(top_level_fields[field::logprobs] == "logprobs");

request_error unsupported(std::string where) {
  return request_error{
      where + " is not supported by any provider (" + chat_provider_list() + ") through nyxgate",
      where, "unsupported_parameter"};
}

/// `where` followed by what is wrong with it, naming it as the error's param.
request_error invalid(std::string where, std::string_view what,
                      std::string code = "invalid_request") {
  std::string message = where;
  message.append(" ").append(what);
  return request_error{std::move(message), std::move(where), std::move(code)};
}

/// A boolean whose `true` no provider can honour through nyxgate.
std::optional<request_error> neutral_bool(detail::node v, std::string_view where) {
  if (!v || v.is_null()) return std::nullopt;
  if (!v.is_bool())
    return request_error{std::string{where} + " must be a boolean", std::string{where}};
  if (v.value.get_bool().value_unsafe()) return unsupported(std::string{where});
  return std::nullopt;
}

/// `["text"]`, the default output modality.
bool text_only(detail::node v) {
  std::size_t count = 0;
  bool text = false;
  detail::each(v, [&](detail::node m) {
    ++count;
    text = detail::str(m) == "text";
  });
  return count == 1 && text;
}

bool given(detail::node v) {
  return v && !v.is_null();
}

/// OpenAI's rule for function and schema names: 1 to 64 of a-z A-Z 0-9 _ -.
bool valid_function_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return ascii_alnum(c) || c == '_' || c == '-';
  });
}

constexpr std::string_view name_rule = "must be 1 to 64 letters, digits, '_' or '-'";

std::string key_of(std::string_view where, std::string_view key) {
  std::string out{where};
  out.append(".").append(key);
  return out;
}

std::optional<double> number_of(detail::node v);
std::optional<std::int64_t> integer_of(detail::node v);

/// `response_format` into `format`: text, json_object, or json_schema {name, description,
/// schema, strict}.
std::optional<request_error> read_response_format(detail::node v, response_format& out) {
  using detail::str;
  constexpr std::string_view at = "response_format";
  if (!v.is_object()) return invalid(std::string{at}, "must be an object");
  std::optional<std::string_view> other;
  auto [type, holder] = detail::pick_all<2>(v, {"type", "json_schema"}, other);
  if (other) return unknown_parameter(key_of(at, *other));
  auto kind = str(type);
  if (!type.is_string() || (kind != "text" && kind != "json_object" && kind != "json_schema"))
    return invalid("response_format.type", "must be one of text, json_object, json_schema");
  if (kind != "json_schema") {
    if (given(holder))
      return invalid("response_format.json_schema", "is only allowed with type json_schema");
    out.type = kind == "text" ? response_format::kind::text : response_format::kind::json_object;
    return std::nullopt;
  }
  constexpr std::string_view schema_at = "response_format.json_schema";
  if (!holder.is_object()) return invalid(std::string{schema_at}, "must be an object");
  std::optional<std::string_view> unknown;
  auto [name, description, schema, strict] =
      detail::pick_all<4>(holder, {"name", "description", "schema", "strict"}, unknown);
  if (unknown) return unknown_parameter(key_of(schema_at, *unknown));
  if (!name.is_string() || !valid_function_name(str(name)))
    return invalid(key_of(schema_at, "name"), name_rule);
  if (given(description) && !description.is_string())
    return invalid(key_of(schema_at, "description"), "must be a string");
  if (!schema.is_object())
    return invalid(key_of(schema_at, "schema"), "must be a JSON Schema object");
  if (given(strict) && !strict.is_bool())
    return invalid(key_of(schema_at, "strict"), "must be a boolean");
  out.type = response_format::kind::json_schema;
  out.name = std::string{str(name)};
  out.description = std::string{str(description)};
  out.schema = simdjson::to_string(schema.value);
  out.strict = strict.is_bool() && strict.value.get_bool().value_unsafe();
  return std::nullopt;
}

/// A provider-dependent field: type-checked here, recorded unless its value asks for the
/// provider's default (a penalty of 0, an empty logit_bias, store false, text output).
std::optional<request_error> read_provider_param(chat_param id, std::string_view key,
                                                 detail::node v, chat_request& req) {
  if (!v || v.is_null()) return std::nullopt;
  auto wrong = [key](std::string_view what) { return invalid(std::string{key}, what); };
  switch (id) {
    case chat_param::frequency_penalty:
    case chat_param::presence_penalty: {
      auto x = number_of(v);
      if (!x || *x < -2 || *x > 2) return wrong("must be a number from -2 to 2");
      if (*x == 0) return std::nullopt;
      break;
    }
    case chat_param::seed:
      if (!integer_of(v)) return wrong("must be an integer");
      break;
    case chat_param::logit_bias:
      if (!v.is_object()) return wrong("must be an object");
      if (detail::dom::object o; v.value.get(o) == simdjson::SUCCESS && o.size() == 0)
        return std::nullopt;
      break;
    case chat_param::metadata:
    case chat_param::prediction:
      if (!v.is_object()) return wrong("must be an object");
      break;
    case chat_param::response_format:
      if (auto e = read_response_format(v, req.format)) return e;
      if (req.format.type == response_format::kind::text) return std::nullopt;
      break;
    case chat_param::store:
      if (!v.is_bool()) return wrong("must be a boolean");
      if (!v.value.get_bool().value_unsafe()) return std::nullopt;
      break;
    default:  // user, prompt_cache_key, prompt_cache_retention, reasoning_effort, ...
      if (!v.is_string()) return wrong("must be a string");
      break;
  }
  req.provider_params.push_back(provider_param{id, std::string{key}, simdjson::to_string(v.value)});
  return std::nullopt;
}

/// The first message-level use of `id`, named by `where`.
template <class Where>
void note_message_param(chat_request& req, chat_param id, const Where& where) {
  if (!req.param(id)) req.provider_params.push_back(provider_param{id, where(), ""});
}

// -- tools ------------------------------------------------------------------------------

constexpr std::size_t max_tools = 128;

/// One `tools[]` entry: {type: "function", function: {name, description?, parameters?,
/// strict?}}, its name unique among `tools`.
template <class Where>
std::optional<request_error> read_tool(detail::node t, const Where& where,
                                       std::vector<tool_definition>& tools) {
  using detail::str;
  if (!t.is_object()) return invalid(where(), "must be an object");
  std::optional<std::string_view> other;
  auto [type, function] = detail::pick_all<2>(t, {"type", "function"}, other);
  if (!type.is_string()) return invalid(where() + ".type", "must be \"function\"");
  if (str(type) != "function") return unsupported(where() + ".type");
  if (other) return unknown_parameter(key_of(where(), *other));
  auto fn = [&where] { return where() + ".function"; };
  if (!function.is_object()) return invalid(fn(), "must be an object");
  std::optional<std::string_view> unknown;
  auto [name, description, parameters, strict] =
      detail::pick_all<4>(function, {"name", "description", "parameters", "strict"}, unknown);
  if (unknown) return unknown_parameter(key_of(fn(), *unknown));
  if (!name.is_string() || !valid_function_name(str(name)))
    return invalid(fn() + ".name", name_rule);
  for (const auto& d : tools)
    if (d.name == str(name))
      return invalid(fn() + ".name", "repeats the name of an earlier tool: " + d.name);
  tool_definition def;
  def.name = std::string{str(name)};
  if (given(description)) {
    if (!description.is_string()) return invalid(fn() + ".description", "must be a string");
    def.description = std::string{str(description)};
  }
  if (given(parameters)) {
    if (!parameters.is_object())
      return invalid(fn() + ".parameters", "must be a JSON Schema object");
    def.parameters = simdjson::to_string(parameters.value);
  }
  if (given(strict)) {
    if (!strict.is_bool()) return invalid(fn() + ".strict", "must be a boolean");
    def.strict = strict.value.get_bool().value_unsafe();
  }
  tools.push_back(std::move(def));
  return std::nullopt;
}

/// `tools`: recorded (verbatim) when it holds any.
std::optional<request_error> read_tools(detail::node v, chat_request& req) {
  if (!given(v)) return std::nullopt;
  if (!v.is_array()) return invalid("tools", "must be an array of function tools");
  std::size_t i = 0;
  std::optional<request_error> error;
  detail::each(v, [&](detail::node t) {
    if (error) return;
    auto index = i++;
    if (index == max_tools) {
      error = invalid("tools", "must hold at most 128 tools");
      return;
    }
    error = read_tool(
        t, [index] { return "tools[" + std::to_string(index) + "]"; }, req.tools);
  });
  if (error) return error;
  if (!req.tools.empty())
    req.provider_params.push_back(
        provider_param{chat_param::tools, "tools", simdjson::to_string(v.value)});
  return std::nullopt;
}

/// `tool_choice`, after `tools`: "auto" (recorded as nothing), "none", "required" or a named
/// declared function. Without tools, "auto" and "none" ask for nothing.
std::optional<request_error> read_tool_choice(detail::node v, chat_request& req) {
  using detail::str;
  using mode = tool_choice::mode;
  if (!given(v)) return std::nullopt;
  auto wrong = [] {
    return invalid(
        "tool_choice",
        R"(must be "auto", "none", "required" or {"type":"function","function":{"name":...}})");
  };
  tool_choice choice;
  if (v.is_string()) {
    auto s = str(v);
    choice.how = s == "auto"       ? mode::automatic
                 : s == "none"     ? mode::none
                 : s == "required" ? mode::required
                                   : mode::unset;
    if (choice.how == mode::unset) return wrong();
  } else if (v.is_object()) {
    std::optional<std::string_view> other;
    auto [type, function] = detail::pick_all<2>(v, {"type", "function"}, other);
    if (other) return unknown_parameter(key_of("tool_choice", *other));
    if (str(type) != "function" || !function.is_object()) return wrong();
    std::optional<std::string_view> unknown;
    auto [name] = detail::pick_all<1>(function, {"name"}, unknown);
    if (unknown) return unknown_parameter(key_of("tool_choice.function", *unknown));
    if (!name.is_string()) return invalid("tool_choice.function.name", "must be a string");
    choice.how = mode::function;
    choice.function = std::string{str(name)};
  } else {
    return wrong();
  }
  if (req.tools.empty()) {
    if (choice.how == mode::automatic || choice.how == mode::none) return std::nullopt;
    return invalid("tool_choice", "needs tools to choose from");
  }
  if (choice.how == mode::function &&
      std::none_of(req.tools.begin(), req.tools.end(),
                   [&](const tool_definition& t) { return t.name == choice.function; }))
    return invalid("tool_choice.function.name", "must name one of the tools");
  req.choice = std::move(choice);
  if (req.choice.how != mode::automatic)
    req.provider_params.push_back(
        provider_param{chat_param::tool_choice, "tool_choice", simdjson::to_string(v.value)});
  return std::nullopt;
}

/// `parallel_tool_calls`, after `tools`: true is the default; false is recorded when there
/// are tools to call.
std::optional<request_error> read_parallel_tool_calls(detail::node v, chat_request& req) {
  if (!given(v)) return std::nullopt;
  if (!v.is_bool()) return invalid("parallel_tool_calls", "must be a boolean");
  if (req.tools.empty()) return std::nullopt;
  bool parallel = v.value.get_bool().value_unsafe();
  req.parallel_tool_calls = parallel;
  if (!parallel)
    req.provider_params.push_back(
        provider_param{chat_param::parallel_tool_calls, "parallel_tool_calls", "false"});
  return std::nullopt;
}

/// An assistant message's `tool_calls`: each {id, type: "function", function: {name,
/// arguments}}.
template <class Where>
std::optional<request_error> read_tool_calls(detail::node v, const Where& where,
                                             std::vector<tool_call>& out) {
  using detail::str;
  if (!v.is_array()) return invalid(where() + ".tool_calls", "must be an array");
  std::size_t i = 0;
  std::optional<request_error> error;
  detail::each(v, [&](detail::node c) {
    if (error) return;
    auto index = i++;
    auto at = [&] { return where() + ".tool_calls[" + std::to_string(index) + "]"; };
    error = [&]() -> std::optional<request_error> {
      if (!c.is_object()) return invalid(at(), "must be an object");
      std::optional<std::string_view> other;
      auto [id, type, function] = detail::pick_all<3>(c, {"id", "type", "function"}, other);
      if (given(type) && !type.is_string()) return invalid(at() + ".type", "must be \"function\"");
      if (given(type) && str(type) != "function") return unsupported(at() + ".type");
      if (other) return unknown_parameter(key_of(at(), *other));
      if (!id.is_string() || str(id).empty())
        return invalid(at() + ".id", "must be a non-empty string");
      if (!function.is_object()) return invalid(at() + ".function", "must be an object");
      std::optional<std::string_view> unknown;
      auto [name, arguments] = detail::pick_all<2>(function, {"name", "arguments"}, unknown);
      if (unknown) return unknown_parameter(key_of(at() + ".function", *unknown));
      if (!name.is_string() || str(name).empty())
        return invalid(at() + ".function.name", "must be a non-empty string");
      if (!arguments.is_string())
        return invalid(at() + ".function.arguments", "must be a string of JSON text");
      out.push_back(
          tool_call{std::string{str(id)}, std::string{str(name)}, std::string{str(arguments)}});
      return std::nullopt;
    }();
  });
  return error;
}

/// Whether an assistant message before this one made the tool call `id`.
bool answers_a_call(const chat_request& req, std::string_view id) {
  return std::any_of(req.messages.begin(), req.messages.end(), [id](const chat_message& m) {
    return std::any_of(m.tool_calls.begin(), m.tool_calls.end(),
                       [id](const tool_call& c) { return c.id == id; });
  });
}

// -- images -----------------------------------------------------------------------------

constexpr std::size_t max_images = 20;
/// 5 MiB decoded.
constexpr std::size_t max_image_base64 = 6'990'508;
constexpr std::size_t max_image_url = 2048;

bool image_media_type(std::string_view t) {
  return t == "image/png" || t == "image/jpeg" || t == "image/gif" || t == "image/webp";
}

/// The media type an https URL's path names by its extension, "" when it names none.
std::string media_type_of_path(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  auto dot = url.rfind('.');
  if (dot == std::string_view::npos || url.find('/', dot) != std::string_view::npos) return {};
  std::string ext{url.substr(dot + 1)};
  for (auto& c : ext)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "gif") return "image/gif";
  if (ext == "webp") return "image/webp";
  return {};
}

/// Padded base64 (RFC 4648 §4).
bool base64_text(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return false;
  std::size_t pad = s.ends_with("==") ? 2 : s.ends_with('=') ? 1 : 0;
  return std::all_of(s.begin(), s.end() - static_cast<std::ptrdiff_t>(pad),
                     [](char c) { return ascii_alnum(c) || c == '+' || c == '/'; });
}

/// An `image_url` part's {url, detail}: an https URL or a base64 data: URL of a PNG, JPEG,
/// GIF or WebP image, within the size limits.
template <class Where>
std::optional<request_error> read_image(detail::node image_url, const Where& part_where,
                                        image_part& out) {
  using detail::str;
  auto at = [&part_where] { return part_where() + ".image_url"; };
  if (!image_url.is_object()) return invalid(at(), "must be an object with a url");
  std::optional<std::string_view> unknown;
  auto [url, detail_level] = detail::pick_all<2>(image_url, {"url", "detail"}, unknown);
  if (unknown) return unknown_parameter(key_of(at(), *unknown));
  auto url_at = [&at] { return at() + ".url"; };
  if (!url.is_string()) return invalid(url_at(), "must be a string");
  auto u = str(url);
  if (u.starts_with("data:")) {
    constexpr std::string_view base64 = ";base64";
    auto comma = u.find(',');
    auto head = u.substr(5, comma == std::string_view::npos ? 0 : comma - 5);
    if (comma == std::string_view::npos || !head.ends_with(base64))
      return invalid(url_at(), "must be a data:<media type>;base64,<data> URL");
    auto type = head.substr(0, head.size() - base64.size());
    if (!image_media_type(type))
      return invalid(url_at(),
                     "holds an image of type " + std::string{type} +
                         ": the types supported are image/png, image/jpeg, image/gif, image/webp",
                     "unsupported_parameter");
    auto payload = u.substr(comma + 1);
    if (payload.size() > max_image_base64)
      return invalid(url_at(), "holds more than 5 MiB: an image may hold at most 5 MiB");
    if (!base64_text(payload)) return invalid(url_at(), "must hold padded base64 data");
    out.media_type = std::string{type};
    out.data = std::string{payload};
  } else if (u.starts_with("https://") && u.size() > 8) {
    if (u.size() > max_image_url)
      return invalid(url_at(), "must be at most 2048 characters (or a data: URL)");
    out.url = std::string{u};
    out.media_type = media_type_of_path(u);
  } else {
    return invalid(url_at(), "must be an https URL or a data: URL", "unsupported_parameter");
  }
  if (given(detail_level)) {
    auto d = str(detail_level);
    if (d != "auto" && d != "low" && d != "high")
      return invalid(at() + ".detail", "must be one of auto, low, high");
    out.detail = std::string{d};
  }
  return std::nullopt;
}

// -- messages ---------------------------------------------------------------------------

/// A message's content other than a string into `msg`: text and (in user messages)
/// image_url parts.
/// `where` names the field in an error; it is only called on the error path (building the
/// name for every message cost more than reading it).
template <class Where>
std::optional<request_error> read_content(detail::node v, const Where& where, chat_message& msg,
                                          chat_request& req, std::size_t& images) {
  std::string& out = msg.content;
  if (v.is_null()) return std::nullopt;
  if (!v.is_array())
    return request_error{where() + " must be a string or an array of content parts", where()};
  std::size_t i = 0;
  std::vector<image_part> found;
  std::optional<request_error> error;
  detail::each(v, [&](detail::node p) {
    if (error) return;
    auto index = i++;
    auto part_where = [&] { return where() + "[" + std::to_string(index) + "]"; };
    std::optional<std::string_view> other;
    auto [type, text, image_url] = detail::pick_all<3>(p, {"type", "text", "image_url"}, other);
    auto kind = detail::str(type);
    if (kind == "image_url") {
      if (msg.role != "user") {
        error = invalid(part_where(), "is an image: images are only allowed in user messages");
        return;
      }
      if (++images > max_images) {
        error = invalid(part_where(), "is one image too many: a request may hold at most 20");
        return;
      }
      if (other || text) {
        error = unknown_parameter(key_of(part_where(), other ? *other : "text"));
        return;
      }
      found.emplace_back();
      error = read_image(image_url, part_where, found.back());
      if (!error) note_message_param(req, chat_param::image_part, part_where);
      return;
    }
    if (kind == "input_audio" || kind == "file" || kind == "refusal") {
      auto w = part_where();
      error = request_error{w + ": content parts of type " + std::string{kind} +
                                " are not supported by any provider (" + chat_provider_list() +
                                ") through nyxgate",
                            w, "unsupported_parameter"};
      return;
    }
    if (!type.is_string() || kind != "text" || !text.is_string()) {
      auto w = part_where();
      error = request_error{
          w + R"(: only {"type":"text","text":...} and {"type":"image_url",...} parts are supported)",
          w};
      return;
    }
    if (other || image_url) {
      error = unknown_parameter(key_of(part_where(), other ? *other : "image_url"));
      return;
    }
    if (!out.empty()) out += '\n';
    auto t = detail::str(text);
    out.append(t.data(), t.size());
  });
  if (error || found.empty()) return error;
  // Where the images stand among the text: every part, in order.
  msg.parts.reserve(i);
  auto next_image = found.begin();
  detail::each(v, [&](detail::node p) {
    content_part part;
    if (detail::str(detail::at(p, "type")) == "image_url") {
      part.type = content_part::kind::image;
      part.image = std::move(*next_image++);
    } else {
      part.text = std::string{detail::str(detail::at(p, "text"))};
    }
    msg.parts.push_back(std::move(part));
  });
  return std::nullopt;
}

/// Every field of a message: text, images, tool calls and tool results read, audio refused.
std::optional<request_error> read_message(detail::node m, std::size_t index, chat_request& req,
                                          std::size_t& images) {
  using detail::str;
  auto where = [index] { return "messages[" + std::to_string(index) + "]"; };
  auto content_where = [&where] { return where() + ".content"; };
  if (!m.is_object()) return request_error{where() + " must be an object", where()};
  std::optional<std::string_view> other;
  auto [role, content, name, tool_calls, tool_call_id, function_call, refusal, audio] =
      detail::pick_all<8>(m,
                          {"role", "content", "name", "tool_calls", "tool_call_id", "function_call",
                           "refusal", "audio"},
                          other);
  if (other) return unknown_parameter(where() + "." + std::string{*other});
  if (!role.is_string() || !known_role(str(role)))
    return request_error{where() + ".role must be one of system, developer, user, assistant, tool",
                         where() + ".role"};
  auto role_name = str(role);
  // Built where it stays: no move of the message (an error drops the whole request).
  auto& msg = req.messages.emplace_back();
  msg.role.append(role_name.data(), role_name.size());
  bool assistant = role_name == "assistant";
  if (!content && !assistant)
    return request_error{where() + ".content is required", content_where()};
  if (content.is_string()) {  // the usual content, read here without the parts' machinery
    auto text = str(content);
    msg.content.append(text.data(), text.size());
  } else if (content) {
    if (auto e = read_content(content, content_where, msg, req, images)) return e;
  }
  if (name && !name.is_null()) {
    if (!name.is_string())
      return request_error{where() + ".name must be a string", where() + ".name"};
    msg.name = std::string{str(name)};
    note_message_param(req, chat_param::message_name, [&where] { return where() + ".name"; });
  }
  // An empty tool_calls list asks for nothing.
  if (tool_calls && !tool_calls.is_null() &&
      !(tool_calls.is_array() && !detail::first(tool_calls))) {
    if (!assistant)
      return invalid(where() + ".tool_calls", "is only allowed in assistant messages");
    if (auto e = read_tool_calls(tool_calls, where, msg.tool_calls)) return e;
    note_message_param(req, chat_param::tool_message, [&where] { return where() + ".tool_calls"; });
  }
  if (role_name == "tool") {
    if (!tool_call_id.is_string() || str(tool_call_id).empty())
      return invalid(where() + ".tool_call_id", "is required in a tool message: the call's id");
    msg.tool_call_id = std::string{str(tool_call_id)};
    if (!answers_a_call(req, msg.tool_call_id))
      return invalid(where() + ".tool_call_id",
                     "must be the id of a tool call of an earlier assistant message");
    note_message_param(req, chat_param::tool_message, [&where] { return where() + ".role"; });
  } else if (given(tool_call_id)) {
    return invalid(where() + ".tool_call_id", "is only allowed in tool messages");
  }
  for (auto [field, v] : {std::pair{".function_call", function_call},
                          std::pair{".refusal", refusal}, std::pair{".audio", audio}})
    if (v && !v.is_null()) return unsupported(where() + field);
  return std::nullopt;
}

/// Every top-level field OpenAI's reference does not list, as `chat_param::other` (each key
/// once; null is no value).
void read_other_fields(detail::node obj, chat_request& req) {
  detail::dom::object o;
  if (obj.value.get(o) != simdjson::SUCCESS) return;
  for (auto field : o) {
    if (field.value.is_null() || std::find(top_level_fields.begin(), top_level_fields.end(),
                                           field.key) != top_level_fields.end())
      continue;
    bool seen = std::any_of(
        req.provider_params.begin(), req.provider_params.end(),
        [&](const provider_param& p) { return p.id == chat_param::other && p.where == field.key; });
    if (!seen)
      req.provider_params.push_back(provider_param{chat_param::other, std::string{field.key},
                                                   simdjson::to_string(field.value)});
  }
}

std::optional<double> number_of(detail::node v) {
  switch (v.type()) {
    case detail::dom::element_type::DOUBLE:
      return v.value.get_double().value_unsafe();
    case detail::dom::element_type::INT64:
      return static_cast<double>(v.value.get_int64().value_unsafe());
    case detail::dom::element_type::UINT64:
      return static_cast<double>(v.value.get_uint64().value_unsafe());
    default:
      return std::nullopt;
  }
}

std::optional<std::int64_t> integer_of(detail::node v) {
  switch (v.type()) {
    case detail::dom::element_type::INT64:
      return v.value.get_int64().value_unsafe();
    case detail::dom::element_type::UINT64: {
      auto u = v.value.get_uint64().value_unsafe();
      if (u <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(u);
      return std::nullopt;
    }
    case detail::dom::element_type::DOUBLE: {
      double d = v.value.get_double().value_unsafe();
      if (d > -9e15 && d < 9e15 && d == static_cast<double>(static_cast<std::int64_t>(d)))
        return static_cast<std::int64_t>(d);
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

/// `parse_chat_request` into `req`, which the answer holds (no move of the request).
std::optional<request_error> read_chat_request(std::string_view body, chat_request& req) {
  using detail::node;
  using detail::str;
  // The document lives only while it is read into `chat_request`.
  detail::parsed_json doc(body);
  if (!doc.ok)
    return request_error{
        std::string{"the body is not valid JSON: "} + simdjson::error_message(doc.error), ""};
  auto obj = doc.value;
  if (!obj.is_object()) return request_error{"the body must be a JSON object", ""};
  // One pass over the body's fields, every one of them seen.
  std::optional<std::string_view> unknown;
  auto f = detail::pick_all(obj, top_level_fields, unknown);
  if (auto e = detail::read_model(f[field::model], req.model)) return *e;
  auto messages = f[field::messages];
  if (!messages) return request_error{"messages is required", "messages"};
  if (!messages.is_array()) return request_error{"messages must be an array", "messages"};
  if (!detail::first(messages))
    return request_error{"messages must hold at least one message", "messages"};
  if (detail::dom::array list; messages.value.get(list) == simdjson::SUCCESS)
    req.messages.reserve(list.size());
  std::size_t i = 0;
  std::size_t images = 0;
  std::optional<request_error> error;
  detail::each(messages, [&](node m) {
    if (error) return;
    error = read_message(m, i++, req, images);
  });
  if (error) return *error;
  if (auto v = f[field::temperature]; v && !v.is_null()) {
    auto t = number_of(v);
    if (!t || *t < 0 || *t > 2)
      return request_error{"temperature must be a number from 0 to 2", "temperature"};
    req.temperature = t;
  }
  if (auto v = f[field::top_p]; v && !v.is_null()) {
    auto t = number_of(v);
    if (!t || *t < 0 || *t > 1) return request_error{"top_p must be a number from 0 to 1", "top_p"};
    req.top_p = t;
  }
  for (auto [name, v] : {std::pair{"max_tokens", f[field::max_tokens]},
                         std::pair{"max_completion_tokens", f[field::max_completion_tokens]}}) {
    if (!v || v.is_null()) continue;
    auto n = integer_of(v);
    if (!n || *n < 1)
      return request_error{std::string{name} + " must be an integer of at least 1", name};
    req.max_tokens = n;
  }
  if (auto v = f[field::stream]; v && !v.is_null()) {
    if (!v.is_bool()) return request_error{"stream must be a boolean", "stream"};
    req.stream = v.value.get_bool().value_unsafe();
  }
  if (auto v = f[field::stream_options]; v && !v.is_null()) {
    if (!v.is_object()) return request_error{"stream_options must be an object", "stream_options"};
    std::optional<std::string_view> unknown_option;
    auto [usage, obfuscation] =
        detail::pick_all<2>(v, {"include_usage", "include_obfuscation"}, unknown_option);
    if (unknown_option) return unknown_parameter("stream_options." + std::string{*unknown_option});
    if (usage && !usage.is_null()) {
      if (!usage.is_bool())
        return request_error{"stream_options.include_usage must be a boolean",
                             "stream_options.include_usage"};
      req.include_usage = usage.value.get_bool().value_unsafe();
    }
    // nyxgate renders the chunks itself: there is nothing to pad.
    if (auto e = neutral_bool(obfuscation, "stream_options.include_obfuscation")) return *e;
  }
  if (auto v = f[field::stop]; v && !v.is_null()) {
    std::size_t count = 0;
    detail::each(v, [&count](node) { ++count; });
    if (v.is_string()) {
      req.stop.emplace_back(str(v));
    } else if (v.is_array() && count <= 4) {
      bool strings = true;
      detail::each(v, [&](node s) {
        if (!s.is_string()) strings = false;
        if (strings) req.stop.emplace_back(str(s));
      });
      if (!strings) return request_error{"stop must hold strings", "stop"};
    } else {
      return request_error{"stop must be a string or an array of up to 4 strings", "stop"};
    }
  }
  if (auto v = f[field::n]; v && !v.is_null()) {
    auto n = integer_of(v);
    if (!n || *n != 1)
      return request_error{
          "only n = 1 is supported by the providers (openai, anthropic, google, "
          "kimi) through nyxgate",
          "n", "unsupported_parameter"};
  }
  // Most bodies hold none of the rarer fields: one look at their slots skips them all.
  if (!unknown && std::none_of(f.begin() + field::first_provider_param, f.end(),
                               [](const node& x) { return x.present; }))
    return std::nullopt;
  for (std::size_t k = field::first_provider_param; k < field::tools; ++k)
    if (auto e = read_provider_param(provider_param_ids[k - field::first_provider_param],
                                     top_level_fields[k], f[k], req))
      return *e;
  if (auto e = read_tools(f[field::tools], req)) return *e;
  if (auto e = read_tool_choice(f[field::tool_choice], req)) return *e;
  if (auto e = read_parallel_tool_calls(f[field::parallel_tool_calls], req)) return *e;
  if (auto e = neutral_bool(f[field::logprobs], "logprobs")) return *e;
  if (auto v = f[field::modalities]; v && !v.is_null() && !text_only(v))
    return unsupported("modalities");
  for (std::size_t k = field::first_refused; k < top_level_fields.size(); ++k)
    if (f[k] && !f[k].is_null()) return unsupported(std::string{top_level_fields[k]});
  if (unknown) read_other_fields(obj, req);
  return std::nullopt;
}

}  // namespace

std::variant<chat_request, request_error> parse_chat_request(std::string_view body) {
  std::variant<chat_request, request_error> out;
  if (auto error = read_chat_request(body, std::get<chat_request>(out))) out = std::move(*error);
  return out;
}

const provider_param* chat_request::param(chat_param id) const {
  for (const auto& p : provider_params)
    if (p.id == id) return &p;
  return nullptr;
}

param_handling handling(chat_param p, std::string_view provider) {
  return chat_of(provider).handling(p);
}

std::optional<request_error> refused_parameter(std::string_view provider, const chat_request& req) {
  const auto& adapter = chat_of(provider);
  for (const auto& p : req.provider_params)
    if (adapter.handling(p.id) == param_handling::refused)
      return request_error{p.where + " is not supported by provider " + std::string{provider},
                           p.where, "unsupported_parameter"};
  return adapter.refuse(req);
}

void append_path_segment(std::string& url, std::string_view segment) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (char c : segment) {
    auto u = static_cast<unsigned char>(c);
    if (ascii_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      url += c;
    } else {
      url += '%';
      url += hex[u >> 4];
      url += hex[u & 15];
    }
  }
}

upstream_request build_upstream_request(std::string_view provider, std::string_view base_url,
                                        std::string_view api_key, const chat_request& req,
                                        std::string_view model, std::int64_t max_tokens) {
  return chat_of(provider).build_request(base_url, api_key, req, model, max_tokens);
}

namespace detail {

std::optional<request_error> read_model(node v, std::string& out) {
  if (!v || v.is_null()) return std::nullopt;
  if (!v.is_string()) return request_error{"model must be a string", "model"};
  out = std::string{str(v)};
  if (!out.empty() && !valid_model_name(out))
    return request_error{
        "model must be at most 128 characters: letters, digits, '.', '_', "
        "':' and '-', after an optional provider/ prefix",
        "model", "invalid_model"};
  return std::nullopt;
}

request_error unknown_parameter(std::string where) {
  return request_error{"unknown parameter " + where, where, "unknown_parameter"};
}

}  // namespace detail

}  // namespace nyxgate::providers
