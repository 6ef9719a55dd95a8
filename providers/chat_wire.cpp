// The client's request and the provider's request: parse_chat_request and
// build_upstream_request (SPEC §4), plus the OpenAI-shaped renderers.
#include <charconv>

#include <boost/json.hpp>

#include "providers/chat.hpp"
#include "providers/chat_json.hpp"
#include "providers/detail/json_doc.hpp"

namespace nyxgate::providers {

using namespace std::string_view_literals;

namespace json = boost::json;

namespace {

bool known_role(std::string_view r) {
  return r == "system" || r == "developer" || r == "user" || r == "assistant" || r == "tool";
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
    auto type = detail::at(p, "type");
    auto text = detail::at(p, "text");
    if (!type.is_string() || detail::str(type) != "text" || !text.is_string()) {
      auto part_where = where() + "[" + std::to_string(index) + "]";
      error = request_error{
          part_where + ": only {\"type\":\"text\",\"text\":...} parts are supported", part_where};
      return;
    }
    if (!out.empty()) out += '\n';
    auto t = detail::str(text);
    out.append(t.data(), t.size());
  });
  return error;
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
  if (!req.user.empty()) {
    out += R"(,"user":)";
    append_json_string(out, req.user);
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
  body["generationConfig"] = std::move(config);
  return json::serialize(body);
}

}  // namespace

std::variant<chat_request, request_error> parse_chat_request(std::string_view body) {
  using detail::at;
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
  // One pass over the body's fields (an `at` per key scanned them once per key).
  auto [model, messages, temperature, top_p, max_tokens, max_completion_tokens, stream,
        stream_options, stop, n, user] =
      detail::pick<11>(
          obj, {"model", "messages", "temperature", "top_p", "max_tokens", "max_completion_tokens",
                "stream", "stream_options", "stop", "n", "user"});
  if (auto v = model; v && !v.is_null()) {
    if (!v.is_string()) return request_error{"model must be a string", "model"};
    req.model = std::string{str(v)};
  }
  if (!messages) return request_error{"messages is required", "messages"};
  if (!messages.is_array()) return request_error{"messages must be an array", "messages"};
  if (!detail::first(messages))
    return request_error{"messages must hold at least one message", "messages"};
  std::size_t i = 0;
  std::optional<request_error> error;
  detail::each(messages, [&](node m) {
    if (error) return;
    auto index = i++;
    auto where = [index] { return "messages[" + std::to_string(index) + "]"; };
    auto content_where = [&where] { return where() + ".content"; };
    if (!m.is_object()) {
      error = request_error{where() + " must be an object", where()};
      return;
    }
    chat_message msg;
    auto [role, content, name] = detail::pick<3>(m, {"role", "content", "name"});
    if (!role.is_string() || !known_role(str(role))) {
      error =
          request_error{where() + ".role must be one of system, developer, user, assistant, tool",
                        where() + ".role"};
      return;
    }
    msg.role = std::string{str(role)};
    if (!content && msg.role != "assistant") {
      error = request_error{where() + ".content is required", content_where()};
      return;
    }
    if (content) {
      if (auto e = read_content(content, content_where, msg.content)) {
        error = std::move(e);
        return;
      }
    }
    if (name && !name.is_null()) {
      if (!name.is_string()) {
        error = request_error{where() + ".name must be a string", where() + ".name"};
        return;
      }
      msg.name = std::string{str(name)};
    }
    req.messages.push_back(std::move(msg));
  });
  if (error) return *error;
  if (auto v = temperature; v && !v.is_null()) {
    auto t = number_of(v);
    if (!t || *t < 0 || *t > 2)
      return request_error{"temperature must be a number from 0 to 2", "temperature"};
    req.temperature = t;
  }
  if (auto v = top_p; v && !v.is_null()) {
    auto t = number_of(v);
    if (!t || *t < 0 || *t > 1) return request_error{"top_p must be a number from 0 to 1", "top_p"};
    req.top_p = t;
  }
  for (auto [field, v] : {std::pair{"max_tokens", max_tokens},
                          std::pair{"max_completion_tokens", max_completion_tokens}}) {
    if (!v || v.is_null()) continue;
    auto n = integer_of(v);
    if (!n || *n < 1)
      return request_error{std::string{field} + " must be an integer of at least 1", field};
    req.max_tokens = n;
  }
  if (auto v = stream; v && !v.is_null()) {
    if (!v.is_bool()) return request_error{"stream must be a boolean", "stream"};
    req.stream = v.value.get_bool().value_unsafe();
  }
  if (auto v = stream_options; v && !v.is_null()) {
    if (!v.is_object()) return request_error{"stream_options must be an object", "stream_options"};
    if (auto u = at(v, "include_usage"); u && !u.is_null()) {
      if (!u.is_bool())
        return request_error{"stream_options.include_usage must be a boolean",
                             "stream_options.include_usage"};
      req.include_usage = u.value.get_bool().value_unsafe();
    }
  }
  if (auto v = stop; v && !v.is_null()) {
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
  if (auto v = n; v && !v.is_null()) {
    auto n = integer_of(v);
    if (!n || *n != 1) return request_error{"only n = 1 is supported", "n"};
  }
  if (auto v = user; v && !v.is_null()) {
    if (!v.is_string()) return request_error{"user must be a string", "user"};
    req.user = std::string{str(v)};
  }
  return req;
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
    out.url = base + "/v1beta/models/" + std::string{model} +
              (req.stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
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

std::string render_error(std::string_view message, std::string_view type, std::string_view code,
                         std::string_view param) {
  std::string out;
  out.append(R"({"error":{"message":)");
  append_json_string(out, message);
  out.append(R"(,"type":)");
  append_json_string(out, type);
  out.append(R"(,"code":)");
  if (code.empty())
    out.append("null");
  else
    append_json_string(out, code);
  out.append(R"(,"param":)");
  if (param.empty())
    out.append("null");
  else
    append_json_string(out, param);
  out.append("}}");
  return out;
}

}  // namespace nyxgate::providers
