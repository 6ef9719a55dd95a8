// Anthropic's Messages API (SPEC §4).
#include <algorithm>

#include <boost/json.hpp>

#include "providers/adapter.hpp"
#include "providers/detail/json_doc.hpp"
#include "providers/detail/wire.hpp"

namespace nyxgate::providers {

namespace {

namespace json = boost::json;
using namespace detail;

/// The tool that carries a structured answer (response_format): Anthropic answers in a schema
/// through a forced tool call, whose input becomes the message content. Reserved: a client
/// tool of this name is refused.
constexpr std::string_view answer_tool = "nyxgate_json";
/// Anthropic's smallest thinking budget.
constexpr std::int64_t min_thinking_budget = 1024;

request_error refusal(std::string where, std::string_view why) {
  std::string message = where + " is not supported by provider anthropic";
  if (!why.empty()) message.append(": ").append(why);
  return {std::move(message), std::move(where), "unsupported_parameter"};
}

/// JSON text the client sent (a schema, a call's arguments) as a value; nullopt when it is not
/// JSON. As deep as the request's own parser lets it be.
std::optional<json::value> parsed_value(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  auto v = json::parse(text, ec, {}, options);
  if (ec) return std::nullopt;
  return v;
}

/// A JSON Schema as a tool's `input_schema`: Anthropic takes object schemas only, so a schema
/// without a type gets "type":"object" and one of another type is none. "" (no parameters)
/// is the empty object schema.
std::optional<json::object> input_schema(std::string_view schema) {
  if (schema.empty()) return json::object{{"type", "object"}, {"properties", json::object{}}};
  auto v = parsed_value(schema);
  if (!v || !v->is_object()) return std::nullopt;
  auto& o = v->as_object();
  const auto* type = o.if_contains("type");
  if (!type) {
    o["type"] = "object";
  } else if (!type->is_string() || type->as_string() != "object") {
    return std::nullopt;
  }
  return std::move(o);
}

/// A tool call's arguments as a tool_use block's input: "" is {}; nullopt for anything but
/// a JSON object.
std::optional<json::object> call_input(std::string_view arguments) {
  if (arguments.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
  auto v = parsed_value(arguments);
  if (!v || !v->is_object()) return std::nullopt;
  return std::move(v->as_object());
}

/// reasoning_effort as a thinking budget before the max_tokens cap: 0 for "none", -1 for a
/// value Anthropic has no budget for.
std::int64_t effort_budget(std::string_view effort_json) {
  if (effort_json == R"("none")") return 0;
  if (effort_json == R"("minimal")" || effort_json == R"("low")") return min_thinking_budget;
  if (effort_json == R"("medium")") return 4096;
  if (effort_json == R"("high")") return 16384;
  return -1;
}

bool has_tool_history(const chat_request& req) {
  return std::any_of(req.messages.begin(), req.messages.end(), [](const chat_message& m) {
    return m.role == "tool" || !m.tool_calls.empty();
  });
}

/// A tool call id as Anthropic takes it (letters, digits, `_`, `-`). Other providers' ids may
/// hold more (Kimi's "functions.get_weather:0"): their other bytes become `_` and a hash of the
/// whole id is appended, so distinct ids stay distinct and a tool_use and the tool_result
/// naming it get the same one.
std::string tool_use_id(std::string_view id) {
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  };
  if (!id.empty() && std::all_of(id.begin(), id.end(), allowed)) return std::string{id};
  std::string out{id.empty() ? std::string_view{"call"} : id};
  std::replace_if(
      out.begin(), out.end(), [&](char c) { return !allowed(c); }, '_');
  std::uint32_t hash = 2166136261u;  // FNV-1a
  for (char c : id) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
  static constexpr char hex[] = "0123456789abcdef";
  out += '_';
  for (int shift = 28; shift >= 0; shift -= 4) out += hex[(hash >> shift) & 15];
  return out;
}

json::object text_block(std::string_view text) {
  return {{"type", "text"}, {"text", text}};
}

json::object image_block(const image_part& image) {
  json::object source;
  if (image.url.empty())
    source = {{"type", "base64"}, {"media_type", image.media_type}, {"data", image.data}};
  else
    source = {{"type", "url"}, {"url", image.url}};
  return {{"type", "image"}, {"source", std::move(source)}};
}

/// One turn of the conversation: the consecutive messages of one side. A turn of text only is
/// sent as one string (the messages joined by a blank line); anything else as content blocks,
/// a user turn's tool_result blocks first, as Anthropic wants them right after the tool_use
/// turn they answer.
class turn {
 public:
  explicit turn(bool assistant) : assistant_(assistant) {}
  bool assistant() const { return assistant_; }

  void add(const chat_message& m) {
    if (m.role == "tool") {
      json::object result{{"type", "tool_result"}, {"tool_use_id", tool_use_id(m.tool_call_id)}};
      if (!m.content.empty()) result["content"] = m.content;
      results_.push_back(std::move(result));
      to_blocks();
      return;
    }
    if (m.parts.empty() && m.tool_calls.empty()) {
      if (!blocks_mode_) {
        if (!first_) text_ += "\n\n";
        text_ += m.content;
        first_ = false;
      } else if (!m.content.empty()) {
        blocks_.push_back(text_block(m.content));
      }
      return;
    }
    to_blocks();
    for (const auto& p : m.parts) {
      if (p.type == content_part::kind::image)
        blocks_.push_back(image_block(p.image));
      else if (!p.text.empty())
        blocks_.push_back(text_block(p.text));
    }
    if (m.parts.empty() && !m.content.empty()) blocks_.push_back(text_block(m.content));
    for (const auto& c : m.tool_calls)
      blocks_.push_back(json::object{{"type", "tool_use"},
                                     {"id", tool_use_id(c.id)},
                                     {"name", c.name},
                                     {"input", call_input(c.arguments).value_or(json::object{})}});
  }

  json::object message() && {
    json::value content;
    if (!blocks_mode_) {
      content = std::move(text_);
    } else {
      for (auto& b : blocks_) results_.push_back(std::move(b));
      content = std::move(results_);
    }
    return {{"role", assistant_ ? "assistant" : "user"}, {"content", std::move(content)}};
  }

 private:
  /// From here on the turn is content blocks: the text so far becomes the first one.
  void to_blocks() {
    if (blocks_mode_) return;
    blocks_mode_ = true;
    if (!text_.empty()) blocks_.push_back(text_block(text_));
  }

  bool assistant_;
  bool blocks_mode_ = false;
  bool first_ = true;
  std::string text_;
  json::array results_;
  json::array blocks_;
};

json::array messages(const chat_request& req) {
  std::vector<turn> turns;
  for (const auto& m : req.messages) {
    if (m.role == "system" || m.role == "developer") continue;
    bool assistant = m.role == "assistant";
    if (turns.empty() || turns.back().assistant() != assistant) turns.emplace_back(assistant);
    turns.back().add(m);
  }
  json::array out;
  out.reserve(turns.size());
  for (auto& t : turns) out.push_back(std::move(t).message());
  return out;
}

/// tools and tool_choice, or the forced answer tool of a response_format. A conversation with
/// tool calls in its history needs its tools declared even when the client sends none: they
/// are declared from the history (schema-less) with tool_choice none.
void add_tools(const chat_request& req, json::object& body) {
  json::array tools;
  json::object choice;
  if (req.format.type != response_format::kind::text) {
    auto schema = req.format.type == response_format::kind::json_schema
                      ? input_schema(req.format.schema).value_or(json::object{{"type", "object"}})
                      : json::object{{"type", "object"}};
    std::string_view description = !req.format.description.empty()
                                       ? std::string_view{req.format.description}
                                       : std::string_view{"Give the answer as this tool's input."};
    tools.push_back(json::object{
        {"name", answer_tool}, {"description", description}, {"input_schema", std::move(schema)}});
    choice = {{"type", "tool"}, {"name", answer_tool}};
  } else if (!req.tools.empty()) {
    for (const auto& t : req.tools) {
      json::object tool{{"name", t.name}};
      if (!t.description.empty()) tool["description"] = t.description;
      tool["input_schema"] = input_schema(t.parameters).value_or(json::object{{"type", "object"}});
      tools.push_back(std::move(tool));
    }
    switch (req.choice.how) {
      case tool_choice::mode::none:
        choice = {{"type", "none"}};
        break;
      case tool_choice::mode::required:
        choice = {{"type", "any"}};
        break;
      case tool_choice::mode::function:
        choice = {{"type", "tool"}, {"name", req.choice.function}};
        break;
      default:
        choice = {{"type", "auto"}};
        break;
    }
    if (req.parallel_tool_calls == false && req.choice.how != tool_choice::mode::none)
      choice["disable_parallel_tool_use"] = true;
  } else if (has_tool_history(req)) {
    std::vector<std::string_view> names;
    for (const auto& m : req.messages)
      for (const auto& c : m.tool_calls)
        if (std::find(names.begin(), names.end(), c.name) == names.end()) names.push_back(c.name);
    for (auto name : names)
      tools.push_back(
          json::object{{"name", name}, {"input_schema", json::object{{"type", "object"}}}});
    if (!tools.empty()) choice = {{"type", "none"}};
  }
  if (tools.empty()) return;
  body["tools"] = std::move(tools);
  body["tool_choice"] = std::move(choice);
}

/// The thinking budget for reasoning_effort (0: no thinking): the effort's level capped to
/// leave one token of answer. A tenant default max_tokens too small for the smallest budget
/// is raised to fit it (a client's own max_tokens is refused by `refuse` instead).
std::int64_t thinking_budget(const chat_request& req, std::int64_t& max_tokens) {
  const auto* effort = req.param(chat_param::reasoning_effort);
  if (!effort) return 0;
  auto budget = effort_budget(effort->json);
  if (budget <= 0) return 0;
  budget = std::min(budget, max_tokens - 1);
  if (budget < min_thinking_budget) {
    budget = min_thinking_budget;
    max_tokens = std::max(max_tokens, budget + 1);
  }
  return budget;
}

std::string body(const chat_request& req, std::string_view model, std::int64_t max_tokens) {
  json::object body;
  body["model"] = model;
  auto thinking = thinking_budget(req, max_tokens);
  body["max_tokens"] = max_tokens;
  auto system = system_text(req);
  if (!system.empty()) body["system"] = system;
  body["messages"] = messages(req);
  // Anthropic's temperature range is 0..1 where OpenAI's is 0..2.
  if (req.temperature) body["temperature"] = std::min(*req.temperature, 1.0);
  if (req.top_p) body["top_p"] = *req.top_p;
  if (!req.stop.empty()) {
    json::array stop;
    for (const auto& s : req.stop) stop.emplace_back(s);
    body["stop_sequences"] = std::move(stop);
  }
  add_tools(req, body);
  if (thinking > 0)
    body["thinking"] = json::object{{"type", "enabled"}, {"budget_tokens", thinking}};
  if (req.stream) body["stream"] = true;
  if (const auto* user = req.param(chat_param::user))
    body["metadata"] = json::object{{"user_id", json::parse(user->json)}};
  return json::serialize(body);
}

std::string finish_of(std::string_view raw) {
  if (raw.empty()) return {};
  if (raw == "end_turn" || raw == "stop_sequence" || raw == "pause_turn") return "stop";
  if (raw == "max_tokens") return "length";
  if (raw == "tool_use") return "tool_calls";
  if (raw == "refusal") return "content_filter";
  return "stop";
}

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

/// Anthropic's usage: input_tokens counts only what is neither read from nor written to the
/// prompt cache, where OpenAI's prompt_tokens counts them all. A message_delta may repeat the
/// input counts or give zeros for them: zeros keep what message_start said.
void read_usage(node usage, token_usage& u) {
  auto [input, read, created, output] = pick<4>(
      usage,
      {"input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens"});
  if (auto prompt = num(input) + num(read) + num(created); prompt > 0) {
    u.prompt_tokens = prompt;
    u.cached_tokens = num(read);
  }
  if (output) u.completion_tokens = num(output);
}

/// The answer's turn ended to call tools: OpenAI's finish reason is tool_calls, unless the call
/// is the structured-output tool, whose input is the answer itself.
std::string finish_with(std::string_view raw, bool answer_tool_used) {
  if (raw == "tool_use" && answer_tool_used) return "stop";
  return finish_of(raw);
}

class anthropic_api final : public provider_adapter {
 public:
  param_handling handling(chat_param p) const override {
    switch (p) {
      case chat_param::user:
      case chat_param::reasoning_effort:
      case chat_param::response_format:
      case chat_param::tools:
      case chat_param::tool_choice:
      case chat_param::parallel_tool_calls:
      case chat_param::image_part:
      case chat_param::tool_message:
        return param_handling::translated;
      default:
        return param_handling::refused;
    }
  }

  std::optional<request_error> refuse(const chat_request& req) const override {
    for (std::size_t i = 0; i < req.tools.size(); ++i) {
      auto where = "tools[" + std::to_string(i) + "].function.";
      if (req.tools[i].name == answer_tool)
        return refusal(where + "name", "the name is reserved for structured output");
      if (!input_schema(req.tools[i].parameters))
        return refusal(where + "parameters", "a tool's schema must be of type object");
    }
    if (req.format.type != response_format::kind::text) {
      if (!req.tools.empty())
        return refusal("response_format",
                       "together with tools (the answer's schema is a tool of its own)");
      if (req.format.type == response_format::kind::json_schema && !input_schema(req.format.schema))
        return refusal("response_format.json_schema.schema", "the schema must be of type object");
    }
    for (std::size_t i = 0; i < req.messages.size(); ++i) {
      const auto& calls = req.messages[i].tool_calls;
      for (std::size_t j = 0; j < calls.size(); ++j)
        if (!call_input(calls[j].arguments))
          return refusal("messages[" + std::to_string(i) + "].tool_calls[" + std::to_string(j) +
                             "].function.arguments",
                         "a tool call's arguments must be a JSON object");
    }
    return refuse_thinking(req);
  }

  upstream_request build_request(std::string_view base_url, std::string_view api_key,
                                 const chat_request& req, std::string_view model,
                                 std::int64_t max_tokens) const override {
    upstream_request out;
    out.url = trimmed_base(base_url) + "/v1/messages";
    out.headers = {{"x-api-key", std::string{api_key}},
                   {"anthropic-version", "2023-06-01"},
                   {"content-type", "application/json"},
                   {"accept", req.stream ? "text/event-stream" : "application/json"}};
    out.body = body(req, model, max_tokens);
    return out;
  }

  std::variant<chat_completion, std::string> parse_completion(
      const std::string& text) const override {
    parsed_json doc(text);
    if (!doc.ok || !doc.value.is_object()) return std::string{"the answer is not a JSON object"};
    chat_completion c;
    auto v = doc.value;
    bool answer_tool_used = false;
    bool blocks = each(at(v, "content"), [&](node b) {
      auto type = str(at(b, "type"));
      if (type == "text") {
        if (!answer_tool_used) c.content += str(at(b, "text"));
      } else if (type == "tool_use") {
        auto name = str(at(b, "name"));
        auto input = at(b, "input");
        std::string arguments = input ? simdjson::to_string(input.value) : std::string{"{}"};
        if (name == answer_tool) {
          answer_tool_used = true;
          c.content = std::move(arguments);
        } else {
          c.tool_calls.push_back(
              tool_call{std::string{str(at(b, "id"))}, std::string{name}, std::move(arguments)});
        }
      }
    });
    if (!blocks) return std::string{"the answer has no content blocks"};
    c.finish_reason = finish_with(str(at(v, "stop_reason")), answer_tool_used);
    read_usage(at(v, "usage"), c.usage);
    c.upstream_id = str(at(v, "id"));
    return c;
  }

  /// message_start, content_block_start/delta, message_delta, message_stop; `error` events.
  stream_step on_event(stream_state& s, const sse_event& e) const override {
    stream_step step;
    parsed_json doc(e.data);
    if (!doc.ok || !doc.value.is_object()) {
      step.error = transport_failure("unreadable stream event");
      return step;
    }
    auto v = doc.value;
    auto type = e.event.empty() ? str(at(v, "type")) : std::string_view{e.event};
    if (at(v, "error") && (e.event == "error" || str(at(v, "type")) == "error")) {
      step.error = stream_error(v);
      // Anthropic's overload, as its HTTP status says it outside a stream.
      if (str(at(at(v, "error"), "type")) == "overloaded_error") step.error->status = 529;
      return step;
    }
    step.role_start = s.start();
    if (type == "message_start") {
      read_usage(at(at(v, "message"), "usage"), s.usage);
      step.usage = s.usage;
    } else if (type == "content_block_start") {
      start_block(s, v, step);
    } else if (type == "content_block_delta") {
      auto delta = at(v, "delta");
      auto kind = str(at(delta, "type"));
      if (kind == "text_delta") {
        step.content = str(at(delta, "text"));
      } else if (kind == "input_json_delta") {
        auto fragment = str(at(delta, "partial_json"));
        auto tool = block_tool(s, num(at(v, "index")));
        if (tool == answer_block) {
          step.content = fragment;
        } else if (tool >= 0 && !fragment.empty()) {
          step.tool_calls.push_back(tool_call_delta{tool, {}, {}, std::string{fragment}});
        }
      }
    } else if (type == "message_delta") {
      bool answer_tool_used =
          std::find(s.block_tool.begin(), s.block_tool.end(), answer_block) != s.block_tool.end();
      step.finish_reason = finish_with(str(at(at(v, "delta"), "stop_reason")), answer_tool_used);
      read_usage(at(v, "usage"), s.usage);
      step.usage = s.usage;
    } else if (type == "message_stop") {
      step.done = true;
    }
    return step;
  }

  bool says_quota(std::string_view message) const override {
    return contains(message, "credit balance is too low");
  }

  probe_request request(std::string_view base_url, std::string_view secret) const override {
    probe_request r;
    r.url = trimmed_base(base_url) + "/v1/models?limit=1";
    r.headers = {{"x-api-key", std::string{secret}}, {"anthropic-version", "2023-06-01"}};
    return r;
  }

  std::optional<probe_verdict> on_bad_request(std::string_view body) const override {
    if (contains(body, "credit balance is too low"))
      return probe_verdict{key_status::cooldown, "credit balance too low (400)"};
    return std::nullopt;
  }

 private:
  /// stream_state::block_tool's marks for blocks that are no client tool call.
  static constexpr int text_block_mark = -1;
  static constexpr int answer_block = -2;

  static int block_tool(const stream_state& s, std::int64_t index) {
    return index >= 0 && static_cast<std::size_t>(index) < s.block_tool.size()
               ? s.block_tool[static_cast<std::size_t>(index)]
               : text_block_mark;
  }

  /// A tool_use block starts a tool call (its first piece: id and name) or, for the
  /// structured-output tool, the answer's content.
  static void start_block(stream_state& s, node v, stream_step& step) {
    auto index = num(at(v, "index"));
    if (index < 0 || index > 1024) return;
    auto block = at(v, "content_block");
    int mark = text_block_mark;
    if (str(at(block, "type")) == "tool_use") {
      auto name = str(at(block, "name"));
      if (name == answer_tool) {
        mark = answer_block;
      } else {
        mark = s.tool_calls++;
        step.tool_calls.push_back(
            tool_call_delta{mark, std::string{str(at(block, "id"))}, std::string{name}, {}});
      }
    }
    auto at_index = static_cast<std::size_t>(index);
    if (s.block_tool.size() <= at_index) s.block_tool.resize(at_index + 1, text_block_mark);
    s.block_tool[at_index] = mark;
  }

  /// reasoning_effort as thinking: a budget Anthropic has, and nothing thinking cannot go
  /// with (thinking blocks cannot come back through OpenAI's message shape, so no tools).
  static std::optional<request_error> refuse_thinking(const chat_request& req) {
    const auto* effort = req.param(chat_param::reasoning_effort);
    if (!effort) return std::nullopt;
    auto budget = effort_budget(effort->json);
    if (budget < 0)
      return refusal("reasoning_effort", "Anthropic's thinking takes minimal, low, medium, high");
    if (budget == 0) return std::nullopt;
    if (req.temperature) return refusal("reasoning_effort", "together with temperature");
    if (req.top_p && *req.top_p < 0.95)
      return refusal("reasoning_effort", "together with top_p below 0.95");
    if (!req.tools.empty() || has_tool_history(req))
      return refusal("reasoning_effort", "together with tools or tool messages");
    if (req.format.type != response_format::kind::text)
      return refusal("reasoning_effort", "together with response_format");
    if (req.max_tokens && *req.max_tokens - 1 < min_thinking_budget)
      return refusal("reasoning_effort",
                     "max_tokens " + std::to_string(*req.max_tokens) +
                         " leaves less than the smallest thinking budget (1024 tokens)");
    return std::nullopt;
  }
};

}  // namespace

const provider_adapter& anthropic_adapter() {
  static const anthropic_api adapter;
  return adapter;
}

}  // namespace nyxgate::providers
