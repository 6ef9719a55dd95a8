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

std::string body(const chat_request& req, std::string_view model, std::int64_t max_tokens) {
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
    bool blocks = each(at(v, "content"), [&c](node b) {
      if (str(at(b, "type")) == "text") c.content += str(at(b, "text"));
    });
    if (!blocks) return std::string{"the answer has no content blocks"};
    c.finish_reason = finish_of(str(at(v, "stop_reason")));
    c.usage.prompt_tokens = num(at(at(v, "usage"), "input_tokens"));
    c.usage.completion_tokens = num(at(at(v, "usage"), "output_tokens"));
    c.upstream_id = str(at(v, "id"));
    return c;
  }

  /// message_start, content_block_delta, message_delta, message_stop; `error` events.
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
      auto usage = at(at(v, "message"), "usage");
      s.usage.prompt_tokens = num(at(usage, "input_tokens"));
      s.usage.completion_tokens = num(at(usage, "output_tokens"));
      step.usage = s.usage;
    } else if (type == "content_block_delta") {
      auto delta = at(v, "delta");
      if (str(at(delta, "type")) == "text_delta") step.content = str(at(delta, "text"));
    } else if (type == "message_delta") {
      step.finish_reason = finish_of(str(at(at(v, "delta"), "stop_reason")));
      auto usage = at(v, "usage");
      if (auto out = at(usage, "output_tokens")) s.usage.completion_tokens = num(out);
      if (auto in = at(usage, "input_tokens"); in && num(in) > 0) s.usage.prompt_tokens = num(in);
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
};

}  // namespace

const provider_adapter& anthropic_adapter() {
  static const anthropic_api adapter;
  return adapter;
}

}  // namespace nyxgate::providers
