// Google's Gemini API (generateContent, SPEC §4).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "providers/adapter.hpp"
#include "providers/detail/embedding_wire.hpp"
#include "providers/detail/gemini_schema.hpp"
#include "providers/detail/json_doc.hpp"
#include "providers/detail/wire.hpp"

namespace nyxgate::providers {

namespace {

namespace json = boost::json;
using namespace detail;

// -- the request ----------------------------------------------------------------------

std::string message_where(std::size_t i) {
  return "messages[" + std::to_string(i) + "]";
}

/// For each message, the function a tool message answers: the name of the earlier assistant
/// tool call its tool_call_id names ("" when none does, and for other messages). OpenAI's
/// tool messages name only the call; Gemini's functionResponse names the function.
std::vector<std::string_view> answered_functions(const chat_request& req) {
  std::vector<std::string_view> out(req.messages.size());
  std::unordered_map<std::string_view, std::string_view> names;  // call id -> function
  for (std::size_t i = 0; i < req.messages.size(); ++i) {
    const auto& m = req.messages[i];
    for (const auto& call : m.tool_calls) names[call.id] = call.name;
    if (m.role != "tool") continue;
    if (auto it = names.find(m.tool_call_id); it != names.end()) out[i] = it->second;
  }
  return out;
}

/// A tool call's arguments as the object functionCall.args is ("" is the empty object); none
/// when the text is no JSON object.
std::optional<json::object> arguments_object(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

/// A tool message's content as functionResponse.response: the object it holds, or
/// {"content": text}.
json::value function_response(std::string_view content) {
  boost::system::error_code ec;
  auto v = json::parse(content, ec);
  if (!ec && v.is_object()) return v;
  return json::object{{"content", content}};
}

/// The image types Gemini reads (it takes no GIF).
bool gemini_image_type(std::string_view t) {
  return t == "image/png" || t == "image/jpeg" || t == "image/webp" || t == "image/heic" ||
         t == "image/heif";
}

json::object image_of(const image_part& image) {
  if (image.url.empty())
    return {{"inlineData", json::object{{"mimeType", image.media_type}, {"data", image.data}}}};
  return {{"fileData", json::object{{"mimeType", image.media_type}, {"fileUri", image.url}}}};
}

bool text_part(const json::value& part) {
  const auto& o = part.as_object();
  return o.size() == 1 && o.contains("text");
}

/// Appends a turn's parts. Gemini wants user and model turns to alternate, so parts of a
/// turn of the same role as the last one join it (text after text in one part, as the other
/// providers' turns read), function responses of one turn together.
void append_turn(json::array& contents, std::string_view role, json::array parts) {
  if (contents.empty() || contents.back().at("role").as_string() != role) {
    contents.push_back(json::object{{"role", role}, {"parts", std::move(parts)}});
    return;
  }
  auto& into = contents.back().at("parts").as_array();
  for (auto& part : parts) {
    if (!into.empty() && text_part(into.back()) && text_part(part)) {
      auto& text = into.back().at("text").as_string();
      text.append("\n\n");
      text.append(part.at("text").as_string());
    } else {
      into.push_back(std::move(part));
    }
  }
}

/// The conversation as Gemini's contents; `refuse` has checked what could not be sent.
json::array contents_of(const chat_request& req) {
  auto answered = answered_functions(req);
  json::array contents;
  for (std::size_t i = 0; i < req.messages.size(); ++i) {
    const auto& m = req.messages[i];
    if (m.role == "system" || m.role == "developer") continue;
    json::array parts;
    if (m.role == "tool") {
      parts.push_back(json::object{
          {"functionResponse",
           json::object{{"name", answered[i]}, {"response", function_response(m.content)}}}});
    } else if (!m.parts.empty()) {
      for (const auto& p : m.parts)
        parts.push_back(p.type == content_part::kind::image ? json::value(image_of(p.image))
                                                            : json::object{{"text", p.text}});
    } else if (!m.content.empty() || m.tool_calls.empty()) {
      parts.push_back(json::object{{"text", m.content}});
    }
    for (const auto& call : m.tool_calls)
      parts.push_back(json::object{
          {"functionCall",
           json::object{{"name", call.name},
                        {"args", arguments_object(call.arguments).value_or(json::object{})}}}});
    append_turn(contents, m.role == "assistant" ? "model" : "user", std::move(parts));
  }
  return contents;
}

/// A tool's parameters in Gemini's subset; none for a function without parameters (Gemini
/// refuses an object schema without properties).
std::optional<json::value> parameters_of(const tool_definition& tool, std::size_t i) {
  if (tool.parameters.empty()) return std::nullopt;
  auto converted =
      gemini_schema(tool.parameters, "tools[" + std::to_string(i) + "].function.parameters");
  auto* schema = std::get_if<json::value>(&converted);
  if (!schema) return std::nullopt;
  const auto& o = schema->as_object();
  const auto* props = o.if_contains("properties");
  if (!props || (props->is_object() && props->as_object().empty())) return std::nullopt;
  return std::move(*schema);
}

json::array function_declarations(const chat_request& req) {
  json::array out;
  for (std::size_t i = 0; i < req.tools.size(); ++i) {
    const auto& tool = req.tools[i];
    json::object d{{"name", tool.name}};
    if (!tool.description.empty()) d["description"] = tool.description;
    if (auto params = parameters_of(tool, i)) d["parameters"] = std::move(*params);
    out.push_back(std::move(d));
  }
  return out;
}

std::optional<json::object> function_calling_config(const tool_choice& choice) {
  switch (choice.how) {
    case tool_choice::mode::automatic:
      return json::object{{"mode", "AUTO"}};
    case tool_choice::mode::none:
      return json::object{{"mode", "NONE"}};
    case tool_choice::mode::required:
      return json::object{{"mode", "ANY"}};
    case tool_choice::mode::function:
      return json::object{{"mode", "ANY"}, {"allowedFunctionNames", json::array{choice.function}}};
    case tool_choice::mode::unset:
      break;
  }
  return std::nullopt;
}

/// thinkingConfig.thinkingBudget for a reasoning_effort (its JSON text); -1 for a value
/// Gemini has no budget for.
std::int64_t thinking_budget(std::string_view effort) {
  static constexpr std::array<std::pair<std::string_view, std::int64_t>, 4> budgets{
      {{"\"minimal\"", 512}, {"\"low\"", 1024}, {"\"medium\"", 8192}, {"\"high\"", 24576}}};
  for (auto [name, budget] : budgets)
    if (effort == name) return budget;
  return -1;
}

std::string body(const chat_request& req, std::int64_t max_tokens) {
  json::object body;
  body["contents"] = contents_of(req);
  auto system = system_text(req);
  if (!system.empty())
    body["systemInstruction"] =
        json::object{{"parts", json::array{json::object{{"text", system}}}}};
  if (!req.tools.empty()) {
    body["tools"] = json::array{json::object{{"functionDeclarations", function_declarations(req)}}};
    if (auto config = function_calling_config(req.choice))
      body["toolConfig"] = json::object{{"functionCallingConfig", std::move(*config)}};
  }
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
  if (req.format.type != response_format::kind::text) {
    config["responseMimeType"] = "application/json";
    if (req.format.type == response_format::kind::json_schema && !req.format.schema.empty()) {
      auto schema = gemini_schema(req.format.schema, "response_format.json_schema.schema");
      if (auto* s = std::get_if<json::value>(&schema)) config["responseSchema"] = std::move(*s);
    }
  }
  if (const auto* effort = req.param(chat_param::reasoning_effort);
      effort && thinking_budget(effort->json) >= 0)
    config["thinkingConfig"] = json::object{{"thinkingBudget", thinking_budget(effort->json)}};
  body["generationConfig"] = std::move(config);
  return json::serialize(body);
}

/// The first thing in the messages Gemini cannot be sent.
std::optional<request_error> refuse_messages(const chat_request& req) {
  auto answered = answered_functions(req);
  for (std::size_t i = 0; i < req.messages.size(); ++i) {
    const auto& m = req.messages[i];
    for (std::size_t j = 0; j < m.tool_calls.size(); ++j)
      if (!arguments_object(m.tool_calls[j].arguments))
        return refused_by_google(
            message_where(i) + ".tool_calls[" + std::to_string(j) + "].function.arguments",
            "Gemini takes a call's arguments as a JSON object");
    if (m.role == "tool" && answered[i].empty())
      return refused_by_google(message_where(i) + ".tool_call_id",
                               "it names no tool call of an earlier assistant message");
    for (std::size_t j = 0; j < m.parts.size(); ++j) {
      const auto& p = m.parts[j];
      if (p.type == content_part::kind::image && !gemini_image_type(p.image.media_type))
        return refused_by_google(
            message_where(i) + ".content[" + std::to_string(j) + "].image_url.url",
            "Gemini reads PNG, JPEG, WebP, HEIC and HEIF images");
    }
  }
  return std::nullopt;
}

/// Gemini's function names start with a letter or an underscore.
bool gemini_function_name(std::string_view name) {
  if (name.empty()) return false;
  char c = name.front();
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

std::optional<request_error> refuse_tools(const chat_request& req) {
  for (std::size_t i = 0; i < req.tools.size(); ++i) {
    auto where = "tools[" + std::to_string(i) + "].function";
    if (!gemini_function_name(req.tools[i].name))
      return refused_by_google(where + ".name",
                               "Gemini's function names start with a letter or an underscore");
    if (req.tools[i].parameters.empty()) continue;
    auto converted = gemini_schema(req.tools[i].parameters, where + ".parameters");
    if (auto* e = std::get_if<request_error>(&converted)) return std::move(*e);
  }
  return std::nullopt;
}

// -- answers --------------------------------------------------------------------------

std::string finish_of(std::string_view raw, bool called) {
  if (raw.empty()) return {};
  if (raw == "STOP") return called ? "tool_calls" : "stop";
  if (raw == "MAX_TOKENS") return "length";
  if (raw == "SAFETY" || raw == "RECITATION" || raw == "BLOCKLIST" || raw == "PROHIBITED_CONTENT" ||
      raw == "SPII" || raw == "IMAGE_SAFETY")
    return "content_filter";
  if (raw == "FINISH_REASON_UNSPECIFIED") return {};
  return "stop";
}

/// The id of a call Gemini gave none: "call_" and 24 hex digits of a hash of the answer's id
/// and the call's place and content, so the same answer always gets the same ids.
std::string generated_call_id(std::string_view response_id, int index, std::string_view name,
                              std::string_view arguments) {
  // Two FNV-1a hashes of different offset bases, each finished by splitmix64's mixer.
  std::uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
  auto feed = [&](std::string_view s) {
    for (unsigned char c : s) {
      a = (a ^ c) * 0x100000001b3ULL;
      b = (b ^ c) * 0x100000001b3ULL;
    }
    a = (a ^ 0x1f) * 0x100000001b3ULL;  // a separator, so fields cannot run into each other
    b = (b ^ 0x1f) * 0x100000001b3ULL;
  };
  std::string place;
  append_int(place, index);
  for (auto field : {response_id, std::string_view{"0"}, std::string_view{place}, name, arguments})
    feed(field);
  auto mix = [](std::uint64_t x) {
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  a = mix(a);
  b = mix(b ^ a);
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "call_";
  for (int shift = 60; shift >= 0; shift -= 4) id += hex[(a >> shift) & 15];
  for (int shift = 28; shift >= 0; shift -= 4) id += hex[(b >> shift) & 15];
  return id;
}

/// Reads a candidate's parts: text appended to `text` (thought summaries left out), each
/// functionCall handed to `on_call(name, id, arguments)` ("" id when Gemini gave none).
template <class OnCall>
void read_parts(node candidate, std::string& text, OnCall&& on_call) {
  each(at(at(candidate, "content"), "parts"), [&](node p) {
    auto [t, call, thought] = pick<3>(p, {"text", "functionCall", "thought"});
    if (call) {
      auto [name, id, args] = pick<3>(call, {"name", "id", "args"});
      on_call(str(name), str(id), args.is_object() ? simdjson::to_string(args.value) : "{}");
      return;
    }
    if (thought.is_bool() && thought.value.get_bool().value_unsafe()) return;
    auto s = str(t);
    text.append(s.data(), s.size());
  });
}

token_usage usage_of(node usage) {
  auto [prompt, candidates, cached, thoughts] =
      pick<4>(usage, {"promptTokenCount", "candidatesTokenCount", "cachedContentTokenCount",
                      "thoughtsTokenCount"});
  token_usage u;
  u.prompt_tokens = num(prompt);
  u.cached_tokens = num(cached);
  u.reasoning_tokens = num(thoughts);
  u.completion_tokens = num(candidates) + u.reasoning_tokens;
  return u;
}

class google_api final : public provider_adapter {
 public:
  param_handling handling(chat_param p) const override {
    switch (p) {
      case chat_param::frequency_penalty:
      case chat_param::presence_penalty:
      case chat_param::seed:
      case chat_param::reasoning_effort:
      case chat_param::response_format:
      case chat_param::tools:
      case chat_param::tool_choice:
      case chat_param::image_part:
      case chat_param::tool_message:
        return param_handling::translated;
      default:
        return param_handling::refused;
    }
  }

  std::optional<request_error> refuse(const chat_request& req) const override {
    if (auto e = refuse_messages(req)) return e;
    if (auto e = refuse_tools(req)) return e;
    if (req.format.type == response_format::kind::json_schema && !req.format.schema.empty()) {
      auto converted = gemini_schema(req.format.schema, "response_format.json_schema.schema");
      if (auto* e = std::get_if<request_error>(&converted)) return std::move(*e);
    }
    if (const auto* effort = req.param(chat_param::reasoning_effort);
        effort && thinking_budget(effort->json) < 0)
      return refused_by_google("reasoning_effort",
                               "Gemini's thinking budgets are for minimal, low, medium and high");
    return std::nullopt;
  }

  upstream_request build_request(std::string_view base_url, std::string_view api_key,
                                 const chat_request& req, std::string_view model,
                                 std::int64_t max_tokens) const override {
    upstream_request out;
    // The model is the one part of a URL that comes from outside: encoded, and followed by
    // the method in the same segment, so it can never be a segment of its own.
    out.url = trimmed_base(base_url) + "/v1beta/models/";
    append_path_segment(out.url, model);
    out.url += req.stream ? ":streamGenerateContent?alt=sse" : ":generateContent";
    out.headers = {{"x-goog-api-key", std::string{api_key}},
                   {"content-type", "application/json"},
                   {"accept", req.stream ? "text/event-stream" : "application/json"}};
    out.body = body(req, max_tokens);
    return out;
  }

  std::variant<chat_completion, std::string> parse_completion(
      const std::string& text) const override {
    parsed_json doc(text);
    if (!doc.ok || !doc.value.is_object()) return std::string{"the answer is not a JSON object"};
    chat_completion c;
    auto v = doc.value;
    auto candidate = first(at(v, "candidates"));
    if (!candidate) return std::string{"the answer has no candidates"};
    c.upstream_id = str(at(v, "responseId"));
    read_parts(candidate, c.content,
               [&c](std::string_view name, std::string_view id, std::string arguments) {
                 int index = static_cast<int>(c.tool_calls.size());
                 c.tool_calls.push_back(
                     tool_call{id.empty() ? generated_call_id(c.upstream_id, index, name, arguments)
                                          : std::string{id},
                               std::string{name}, std::move(arguments)});
               });
    c.finish_reason = finish_of(str(at(candidate, "finishReason")), !c.tool_calls.empty());
    c.usage = usage_of(at(v, "usageMetadata"));
    return c;
  }

  /// Each event is a whole GenerateContentResponse; a functionCall part comes whole in one.
  stream_step on_event(stream_state& s, const sse_event& e) const override {
    stream_step step;
    parsed_json doc(e.data);
    if (!doc.ok || !doc.value.is_object()) {
      step.error = transport_failure("unreadable stream event");
      return step;
    }
    auto v = doc.value;
    if (at(v, "error")) {
      step.error = stream_error(v);
      return step;
    }
    step.role_start = s.start();
    if (s.response_id.empty()) s.response_id = str(at(v, "responseId"));
    auto candidate = first(at(v, "candidates"));
    read_parts(candidate, step.content,
               [&](std::string_view name, std::string_view id, std::string arguments) {
                 int index = s.tool_calls++;
                 auto call_id = id.empty()
                                    ? generated_call_id(s.response_id, index, name, arguments)
                                    : std::string{id};
                 step.tool_calls.push_back(
                     tool_call_delta{index, std::move(call_id), std::string{name}, ""});
                 step.tool_calls.push_back(tool_call_delta{index, "", "", std::move(arguments)});
               });
    step.finish_reason = finish_of(str(at(candidate, "finishReason")), s.tool_calls > 0);
    if (auto usage = at(v, "usageMetadata")) {
      s.usage = usage_of(usage);
      step.usage = s.usage;
    }
    return step;
  }

  /// Gemini's errors carry no OpenAI type.
  std::string client_error_type(std::string_view) const override { return "invalid_request_error"; }

  probe_request request(std::string_view base_url, std::string_view secret) const override {
    probe_request r;
    r.url = trimmed_base(base_url) + "/v1beta/models?pageSize=1";
    r.headers = {{"x-goog-api-key", std::string{secret}}};
    return r;
  }

  /// Google answers a bad key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
  std::optional<probe_verdict> on_bad_request(std::string_view body) const override {
    if (body.find("API_KEY_INVALID") != std::string_view::npos)
      return probe_verdict{key_status::invalid, "provider rejected the key (400 API_KEY_INVALID)"};
    return std::nullopt;
  }

  // -- embeddings (docs/embeddings.md) --------------------------------------------------

  std::string_view default_embedding_model() const override { return "gemini-embedding-001"; }

  upstream_request build_embedding_request(std::string_view base_url, std::string_view api_key,
                                           const embedding_request& req,
                                           std::string_view model) const override {
    upstream_request out;
    out.url = trimmed_base(base_url) + "/v1beta/models/";
    append_path_segment(out.url, model);
    out.url += ":batchEmbedContents";
    out.headers = {{"x-goog-api-key", std::string{api_key}},
                   {"content-type", "application/json"},
                   {"accept", "application/json"}};
    out.body = google_embedding_body(req, model);
    return out;
  }

  std::variant<embedding_result, std::string> parse_embeddings(
      const std::string& body) const override {
    return read_google_embeddings(body);
  }
};

}  // namespace

const provider_adapter& google_adapter() {
  static const google_api adapter;
  return adapter;
}

}  // namespace nyxgate::providers
