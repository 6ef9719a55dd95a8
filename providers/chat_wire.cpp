// The client's request and the provider's request: parse_chat_request and
// build_upstream_request (SPEC §4), plus the OpenAI-shaped renderers.
#include <algorithm>
#include <array>
#include <charconv>

#include <boost/json.hpp>

#include "providers/chat.hpp"
#include "providers/chat_json.hpp"
#include "providers/detail/json_doc.hpp"
#include "providers/resolution.hpp"

namespace nyxgate::providers {

using namespace std::string_view_literals;

namespace json = boost::json;

namespace {

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
    // refused for every provider unless their value asks for the default
    "logprobs", "modalities",
    // refused for every provider
    "top_logprobs", "audio", "tools", "tool_choice", "parallel_tool_calls", "functions",
    "function_call", "web_search_options"};

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
  logprobs = first_provider_param + 15,
  modalities,
  first_refused,
};
}  // namespace field

constexpr std::array<chat_param, field::logprobs - field::first_provider_param> provider_param_ids{
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

static_assert(field::first_refused + 8 == top_level_fields.size());
static_assert(top_level_fields[field::logprobs] == "logprobs");

/// The wire name of a forwarded parameter (`chat_param` order).
constexpr std::array<std::string_view, 16> param_keys{"frequency_penalty",
                                                      "logit_bias",
                                                      "metadata",
                                                      "prediction",
                                                      "presence_penalty",
                                                      "prompt_cache_key",
                                                      "prompt_cache_retention",
                                                      "reasoning_effort",
                                                      "response_format",
                                                      "safety_identifier",
                                                      "seed",
                                                      "service_tier",
                                                      "store",
                                                      "user",
                                                      "verbosity",
                                                      "name"};
static_assert(param_keys.size() == static_cast<std::size_t>(chat_param::message_name) + 1);

std::string_view key_of(chat_param p) {
  return param_keys[static_cast<std::size_t>(p)];
}

request_error unknown_parameter(std::string where) {
  return request_error{"unknown parameter " + where, where, "unknown_parameter"};
}

request_error unsupported(std::string where) {
  return request_error{
      where + " is not supported by any provider (openai, anthropic, google, kimi) through nyxgate",
      where, "unsupported_parameter"};
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

std::optional<double> number_of(detail::node v);
std::optional<std::int64_t> integer_of(detail::node v);

/// A provider-dependent field: type-checked here, recorded unless its value asks for the
/// provider's default (a penalty of 0, an empty logit_bias, store false, text output).
std::optional<request_error> read_provider_param(chat_param id, std::string_view key,
                                                 detail::node v, chat_request& req) {
  if (!v || v.is_null()) return std::nullopt;
  auto wrong = [key](std::string_view what) {
    return request_error{std::string{key} + " must be " + std::string{what}, std::string{key}};
  };
  switch (id) {
    case chat_param::frequency_penalty:
    case chat_param::presence_penalty: {
      auto x = number_of(v);
      if (!x || *x < -2 || *x > 2) return wrong("a number from -2 to 2");
      if (*x == 0) return std::nullopt;
      break;
    }
    case chat_param::seed:
      if (!integer_of(v)) return wrong("an integer");
      break;
    case chat_param::logit_bias:
      if (!v.is_object()) return wrong("an object");
      if (detail::dom::object o; v.value.get(o) == simdjson::SUCCESS && o.size() == 0)
        return std::nullopt;
      break;
    case chat_param::metadata:
    case chat_param::prediction:
      if (!v.is_object()) return wrong("an object");
      break;
    case chat_param::response_format: {
      if (!v.is_object()) return wrong("an object");
      std::optional<std::string_view> other;
      auto [type] = detail::pick_all<1>(v, {"type"}, other);
      if (!type.is_string()) return wrong("an object with a string type");
      if (!other && detail::str(type) == "text") return std::nullopt;
      break;
    }
    case chat_param::store:
      if (!v.is_bool()) return wrong("a boolean");
      if (!v.value.get_bool().value_unsafe()) return std::nullopt;
      break;
    default:  // user, prompt_cache_key, prompt_cache_retention, reasoning_effort, ...
      if (!v.is_string()) return wrong("a string");
      break;
  }
  req.provider_params.push_back(provider_param{id, std::string{key}, simdjson::to_string(v.value)});
  return std::nullopt;
}

/// `where` names the field in an error; it is only called on the error path (building the
/// name for every message cost more than reading it).
template <class Where>
std::optional<request_error> read_content(detail::node v, const Where& where, std::string& out) {
  if (v.is_string()) {
    auto text = detail::str(v);
    out.assign(text.data(), text.size());
    return std::nullopt;
  }
  if (v.is_null()) return std::nullopt;
  if (!v.is_array())
    return request_error{where() + " must be a string or an array of text parts", where()};
  std::size_t i = 0;
  std::optional<request_error> error;
  detail::each(v, [&](detail::node p) {
    if (error) return;
    auto index = i++;
    auto part_where = [&] { return where() + "[" + std::to_string(index) + "]"; };
    std::optional<std::string_view> other;
    auto [type, text] = detail::pick_all<2>(p, {"type", "text"}, other);
    auto kind = detail::str(type);
    if (kind == "image_url" || kind == "input_audio" || kind == "file" || kind == "refusal") {
      auto w = part_where();
      error = request_error{w + ": content parts of type " + std::string{kind} +
                                " are not supported by any provider (openai, anthropic, "
                                "google, kimi) through nyxgate",
                            w, "unsupported_parameter"};
      return;
    }
    if (!type.is_string() || kind != "text" || !text.is_string()) {
      auto w = part_where();
      error = request_error{w + ": only {\"type\":\"text\",\"text\":...} parts are supported", w};
      return;
    }
    if (other) {
      error = unknown_parameter(part_where() + "." + std::string{*other});
      return;
    }
    if (!out.empty()) out += '\n';
    auto t = detail::str(text);
    out.append(t.data(), t.size());
  });
  return error;
}

/// Every field of a message: the text ones read, tool and audio ones refused.
std::optional<request_error> read_message(detail::node m, std::size_t index, chat_request& req) {
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
  // Tool results need the tool calls they answer, which no provider gets through nyxgate.
  if (str(role) == "tool") return unsupported(where() + ".role");
  chat_message msg;
  msg.role = std::string{str(role)};
  if (!content && msg.role != "assistant")
    return request_error{where() + ".content is required", content_where()};
  if (content) {
    if (auto e = read_content(content, content_where, msg.content)) return e;
  }
  if (name && !name.is_null()) {
    if (!name.is_string())
      return request_error{where() + ".name must be a string", where() + ".name"};
    msg.name = std::string{str(name)};
    if (!req.param(chat_param::message_name))
      req.provider_params.push_back(
          provider_param{chat_param::message_name, where() + ".name", ""});
  }
  // An empty tool_calls list asks for nothing.
  if (tool_calls && !tool_calls.is_null() && !(tool_calls.is_array() && !detail::first(tool_calls)))
    return unsupported(where() + ".tool_calls");
  for (auto [field, v] :
       {std::pair{".tool_call_id", tool_call_id}, std::pair{".function_call", function_call},
        std::pair{".refusal", refusal}, std::pair{".audio", audio}})
    if (v && !v.is_null()) return unsupported(where() + field);
  req.messages.push_back(std::move(msg));
  return std::nullopt;
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

std::string trimmed_base(std::string_view base) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string{base};
}

/// System and developer messages, joined: Anthropic and Google take them apart from the turns.
std::string system_text(const chat_request& req) {
  std::string out;
  for (const auto& m : req.messages) {
    if (m.role != "system" && m.role != "developer") continue;
    if (!out.empty()) out += "\n\n";
    out += m.content;
  }
  return out;
}

/// The conversation as alternating turns: consecutive messages of one side are merged.
std::vector<std::pair<bool, std::string>> turns(const chat_request& req) {
  std::vector<std::pair<bool, std::string>> out;  // (is_assistant, text)
  for (const auto& m : req.messages) {
    if (m.role == "system" || m.role == "developer") continue;
    bool assistant = m.role == "assistant";
    if (!out.empty() && out.back().first == assistant) {
      out.back().second += "\n\n";
      out.back().second += m.content;
    } else {
      out.emplace_back(assistant, m.content);
    }
  }
  return out;
}

/// An integer in decimal, without a temporary string (answers and chunks carry several).
std::string& append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  return out.append(buf, static_cast<std::size_t>(end - buf));
}

void append_number(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  out.append(buf, ec == std::errc{} ? static_cast<std::size_t>(end - buf) : 0);
}

/// Written straight into one string (the body goes out on every call: building a JSON DOM
/// first cost two dozen allocations).
std::string openai_body(std::string_view provider, const chat_request& req, std::string_view model,
                        std::int64_t max_tokens) {
  std::size_t size = 256 + model.size();
  for (const auto& m : req.messages) size += m.content.size() + m.name.size() + 48;
  for (const auto& p : req.provider_params) size += p.json.size() + 32;
  std::string out;
  out.reserve(size);
  out += R"({"model":)";
  append_json_string(out, model);
  out += R"(,"messages":[)";
  bool first = true;
  for (const auto& m : req.messages) {
    // Kimi knows no "developer" role.
    std::string_view role = provider == "kimi" && m.role == "developer" ? std::string_view{"system"}
                                                                        : std::string_view{m.role};
    out += first ? R"({"role":)" : R"(,{"role":)";
    first = false;
    append_json_string(out, role);
    out += R"(,"content":)";
    append_json_string(out, m.content);
    if (!m.name.empty()) {
      out += R"(,"name":)";
      append_json_string(out, m.name);
    }
    out += '}';
  }
  out += ']';
  if (req.temperature) {
    out += R"(,"temperature":)";
    append_number(out, *req.temperature);
  }
  if (req.top_p) {
    out += R"(,"top_p":)";
    append_number(out, *req.top_p);
  }
  if (!req.stop.empty()) {
    out += R"(,"stop":[)";
    for (std::size_t i = 0; i < req.stop.size(); ++i) {
      if (i > 0) out += ',';
      append_json_string(out, req.stop[i]);
    }
    out += ']';
  }
  // OpenAI's reasoning models refuse max_tokens; max_completion_tokens works for every model.
  out += provider == "openai" ? R"(,"max_completion_tokens":)" : R"(,"max_tokens":)";
  append_int(out, max_tokens);
  for (const auto& p : req.provider_params) {
    if (p.id == chat_param::message_name || handling(p.id, provider) != param_handling::forwarded)
      continue;
    out += ",\"";
    out += key_of(p.id);
    out += "\":";
    out += p.json;
  }
  // Usage is recorded for every call, so a stream always asks for it.
  if (req.stream) out += R"(,"stream":true,"stream_options":{"include_usage":true})";
  out += '}';
  return out;
}

std::string anthropic_body(const chat_request& req, std::string_view model,
                           std::int64_t max_tokens) {
  json::object body;
  body["model"] = model;
  body["max_tokens"] = max_tokens;
  auto system = system_text(req);
  if (!system.empty()) body["system"] = system;
  json::array messages;
  for (auto& [assistant, text] : turns(req))
    messages.push_back(json::object{{"role", assistant ? "assistant" : "user"}, {"content", text}});
  body["messages"] = std::move(messages);
  // Anthropic's temperature range is 0..1 where OpenAI's is 0..2.
  if (req.temperature) body["temperature"] = std::min(*req.temperature, 1.0);
  if (req.top_p) body["top_p"] = *req.top_p;
  if (!req.stop.empty()) {
    json::array stop;
    for (const auto& s : req.stop) stop.emplace_back(s);
    body["stop_sequences"] = std::move(stop);
  }
  if (req.stream) body["stream"] = true;
  if (const auto* user = req.param(chat_param::user))
    body["metadata"] = json::object{{"user_id", json::parse(user->json)}};
  return json::serialize(body);
}

std::string google_body(const chat_request& req, std::int64_t max_tokens) {
  json::object body;
  json::array contents;
  for (auto& [assistant, text] : turns(req))
    contents.push_back(json::object{{"role", assistant ? "model" : "user"},
                                    {"parts", json::array{json::object{{"text", text}}}}});
  body["contents"] = std::move(contents);
  auto system = system_text(req);
  if (!system.empty())
    body["systemInstruction"] =
        json::object{{"parts", json::array{json::object{{"text", system}}}}};
  json::object config;
  if (req.temperature) config["temperature"] = *req.temperature;
  if (req.top_p) config["topP"] = *req.top_p;
  config["maxOutputTokens"] = max_tokens;
  if (!req.stop.empty()) {
    json::array stop;
    for (const auto& s : req.stop) stop.emplace_back(s);
    config["stopSequences"] = std::move(stop);
  }
  for (auto [id, name] : {std::pair{chat_param::frequency_penalty, "frequencyPenalty"},
                          std::pair{chat_param::presence_penalty, "presencePenalty"},
                          std::pair{chat_param::seed, "seed"}})
    if (const auto* p = req.param(id)) config[name] = json::parse(p->json);
  body["generationConfig"] = std::move(config);
  return json::serialize(body);
}

}  // namespace

std::variant<chat_request, request_error> parse_chat_request(std::string_view body) {
  using detail::node;
  using detail::str;
  // The document lives only while it is read into `chat_request`.
  detail::parsed_json doc(body);
  if (!doc.ok)
    return request_error{
        std::string{"the body is not valid JSON: "} + simdjson::error_message(doc.error), ""};
  auto obj = doc.value;
  if (!obj.is_object()) return request_error{"the body must be a JSON object", ""};
  chat_request req;
  // One pass over the body's fields, every one of them seen.
  std::optional<std::string_view> unknown;
  auto f = detail::pick_all(obj, top_level_fields, unknown);
  if (unknown) return unknown_parameter(std::string{*unknown});
  if (auto v = f[field::model]; v && !v.is_null()) {
    if (!v.is_string()) return request_error{"model must be a string", "model"};
    req.model = std::string{str(v)};
    if (!req.model.empty() && !valid_model_name(req.model))
      return request_error{
          "model must be at most 128 characters: letters, digits, '.', '_', "
          "':' and '-', after an optional provider/ prefix",
          "model", "invalid_model"};
  }
  auto messages = f[field::messages];
  if (!messages) return request_error{"messages is required", "messages"};
  if (!messages.is_array()) return request_error{"messages must be an array", "messages"};
  if (!detail::first(messages))
    return request_error{"messages must hold at least one message", "messages"};
  std::size_t i = 0;
  std::optional<request_error> error;
  detail::each(messages, [&](node m) {
    if (error) return;
    error = read_message(m, i++, req);
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
  if (std::none_of(f.begin() + field::first_provider_param, f.end(),
                   [](const node& x) { return x.present; }))
    return req;
  for (std::size_t k = field::first_provider_param; k < field::logprobs; ++k)
    if (auto e = read_provider_param(provider_param_ids[k - field::first_provider_param],
                                     top_level_fields[k], f[k], req))
      return *e;
  if (auto e = neutral_bool(f[field::logprobs], "logprobs")) return *e;
  if (auto v = f[field::modalities]; v && !v.is_null() && !text_only(v))
    return unsupported("modalities");
  for (std::size_t k = field::first_refused; k < top_level_fields.size(); ++k)
    if (f[k] && !f[k].is_null()) return unsupported(std::string{top_level_fields[k]});
  return req;
}

const provider_param* chat_request::param(chat_param id) const {
  for (const auto& p : provider_params)
    if (p.id == id) return &p;
  return nullptr;
}

param_handling handling(chat_param p, std::string_view provider) {
  bool openai = provider == "openai";
  bool openai_like = openai || provider == "kimi";
  switch (p) {
    case chat_param::frequency_penalty:
    case chat_param::presence_penalty:
      return openai_like            ? param_handling::forwarded
             : provider == "google" ? param_handling::translated
                                    : param_handling::refused;
    case chat_param::seed:
      return openai                 ? param_handling::forwarded
             : provider == "google" ? param_handling::translated
                                    : param_handling::refused;
    case chat_param::user:
      return openai_like               ? param_handling::forwarded
             : provider == "anthropic" ? param_handling::translated
                                       : param_handling::refused;
    case chat_param::message_name:
      return openai_like ? param_handling::forwarded : param_handling::refused;
    default:
      return openai ? param_handling::forwarded : param_handling::refused;
  }
}

std::optional<request_error> refused_parameter(std::string_view provider, const chat_request& req) {
  for (const auto& p : req.provider_params)
    if (handling(p.id, provider) == param_handling::refused)
      return request_error{p.where + " is not supported by provider " + std::string{provider},
                           p.where, "unsupported_parameter"};
  return std::nullopt;
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
  upstream_request out;
  auto base = trimmed_base(base_url);
  std::string accept = req.stream ? "text/event-stream" : "application/json";
  if (provider == "anthropic") {
    out.url = base + "/v1/messages";
    out.headers = {{"x-api-key", std::string{api_key}},
                   {"anthropic-version", "2023-06-01"},
                   {"content-type", "application/json"},
                   {"accept", accept}};
    out.body = anthropic_body(req, model, max_tokens);
  } else if (provider == "google") {
    // The model is the one part of a URL that comes from outside: encoded, and followed by
    // the method in the same segment, so it can never be a segment of its own.
    out.url = base + "/v1beta/models/";
    append_path_segment(out.url, model);
    out.url += req.stream ? ":streamGenerateContent?alt=sse" : ":generateContent";
    out.headers = {{"x-goog-api-key", std::string{api_key}},
                   {"content-type", "application/json"},
                   {"accept", accept}};
    out.body = google_body(req, max_tokens);
  } else {
    out.url = base + "/v1/chat/completions";
    std::string bearer = "Bearer ";
    bearer += api_key;
    out.headers.reserve(3);
    out.headers.emplace_back("authorization", std::move(bearer));
    out.headers.emplace_back("content-type", "application/json");
    out.headers.emplace_back("accept", std::move(accept));
    out.body = openai_body(provider, req, model, max_tokens);
  }
  return out;
}

std::string render_completion(const chat_completion& c, std::string_view id, std::string_view model,
                              std::int64_t created) {
  std::string out;
  out.reserve(c.content.size() + id.size() + model.size() + 256);
  out.append(R"({"id":)"sv);
  append_json_string(out, id);
  append_int(out.append(R"(,"object":"chat.completion","created":)"sv), created);
  out.append(R"(,"model":)"sv);
  append_json_string(out, model);
  out.append(R"(,"choices":[{"index":0,"message":{"role":"assistant","content":)"sv);
  append_json_string(out, c.content);
  out.append(R"(,"refusal":null},"logprobs":null,"finish_reason":)"sv);
  append_json_string(out, c.finish_reason.empty() ? std::string_view{"stop"} : c.finish_reason);
  append_int(out.append(R"(}],"usage":{"prompt_tokens":)"sv), c.usage.prompt_tokens);
  append_int(out.append(R"(,"completion_tokens":)"sv), c.usage.completion_tokens);
  append_int(out.append(R"(,"total_tokens":)"sv),
             c.usage.prompt_tokens + c.usage.completion_tokens);
  out.append("}}"sv);
  return out;
}

std::string render_chunk(std::string_view id, std::string_view model, std::int64_t created,
                         std::string_view content, bool role_start,
                         std::string_view finish_reason) {
  std::string out;
  render_chunk_to(out, id, model, created, content, role_start, finish_reason);
  return out;
}

std::string render_chunk_head(std::string_view id, std::string_view model, std::int64_t created) {
  std::string out;
  out.reserve(id.size() + model.size() + 80);
  out.append(R"({"id":)"sv);
  append_json_string(out, id);
  append_int(out.append(R"(,"object":"chat.completion.chunk","created":)"sv), created);
  out.append(R"(,"model":)"sv);
  append_json_string(out, model);
  return out;
}

void render_chunk_with_head(std::string& out, std::string_view head, std::string_view content,
                            bool role_start, std::string_view finish_reason) {
  out.clear();
  out.reserve(head.size() + content.size() + 96);
  append_chunk_with_head(out, head, content, role_start, finish_reason);
}

void append_chunk_with_head(std::string& out, std::string_view head, std::string_view content,
                            bool role_start, std::string_view finish_reason) {
  out.append(head);
  out.append(R"(,"choices":[{"index":0,"delta":{)"sv);
  bool comma = false;
  if (role_start) {
    out.append(R"("role":"assistant")"sv);
    comma = true;
  }
  if (!content.empty() || role_start) {
    if (comma) out += ',';
    out.append(R"("content":)"sv);
    append_json_string(out, content);
  }
  out.append(R"(},"logprobs":null,"finish_reason":)"sv);
  if (finish_reason.empty())
    out.append("null"sv);
  else
    append_json_string(out, finish_reason);
  out.append("}]}"sv);
}

void render_chunk_to(std::string& out, std::string_view id, std::string_view model,
                     std::int64_t created, std::string_view content, bool role_start,
                     std::string_view finish_reason) {
  render_chunk_with_head(out, render_chunk_head(id, model, created), content, role_start,
                         finish_reason);
}

std::string render_usage_chunk(std::string_view id, std::string_view model, std::int64_t created,
                               const token_usage& usage) {
  std::string out;
  out.append(R"({"id":)"sv);
  append_json_string(out, id);
  append_int(out.append(R"(,"object":"chat.completion.chunk","created":)"sv), created);
  out.append(R"(,"model":)"sv);
  append_json_string(out, model);
  append_int(out.append(R"(,"choices":[],"usage":{"prompt_tokens":)"sv), usage.prompt_tokens);
  append_int(out.append(R"(,"completion_tokens":)"sv), usage.completion_tokens);
  append_int(out.append(R"(,"total_tokens":)"sv), usage.prompt_tokens + usage.completion_tokens);
  out.append("}}"sv);
  return out;
}

}  // namespace nyxgate::providers
