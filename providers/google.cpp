// Google's Gemini API (generateContent, SPEC §4).
#include <boost/json.hpp>

#include "providers/adapter.hpp"
#include "providers/detail/json_doc.hpp"
#include "providers/detail/wire.hpp"

namespace nyxgate::providers {

namespace {

namespace json = boost::json;
using namespace detail;

std::string body(const chat_request& req, std::int64_t max_tokens) {
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

std::string finish_of(std::string_view raw) {
  if (raw.empty()) return {};
  if (raw == "STOP") return "stop";
  if (raw == "MAX_TOKENS") return "length";
  if (raw == "SAFETY" || raw == "RECITATION" || raw == "BLOCKLIST" || raw == "PROHIBITED_CONTENT" ||
      raw == "SPII" || raw == "IMAGE_SAFETY")
    return "content_filter";
  if (raw == "FINISH_REASON_UNSPECIFIED") return {};
  return "stop";
}

/// Text of a Gemini candidate: every text part, in order.
std::string candidate_text(node candidate) {
  std::string out;
  each(at(at(candidate, "content"), "parts"), [&out](node p) {
    auto t = str(at(p, "text"));
    out.append(t.data(), t.size());
  });
  return out;
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
    c.content = candidate_text(candidate);
    c.finish_reason = finish_of(str(at(candidate, "finishReason")));
    auto usage = at(v, "usageMetadata");
    c.usage.prompt_tokens = num(at(usage, "promptTokenCount"));
    c.usage.completion_tokens = num(at(usage, "candidatesTokenCount"));
    c.upstream_id = str(at(v, "responseId"));
    return c;
  }

  /// Each event is a whole GenerateContentResponse.
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
    auto candidate = first(at(v, "candidates"));
    step.content = candidate_text(candidate);
    step.finish_reason = finish_of(str(at(candidate, "finishReason")));
    if (auto usage = at(v, "usageMetadata")) {
      s.usage.prompt_tokens = num(at(usage, "promptTokenCount"));
      s.usage.completion_tokens = num(at(usage, "candidatesTokenCount"));
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
};

}  // namespace

const provider_adapter& google_adapter() {
  static const google_api adapter;
  return adapter;
}

}  // namespace nyxgate::providers
