// The providers' answers back into OpenAI's shape: parse_completion, classify_failure and the
// stream translator (SPEC §3, §4).
#include <algorithm>
#include <ctime>

#include "providers/chat.hpp"
#include "providers/detail/json_doc.hpp"
#include "providers/detail/openai_chunk.hpp"

namespace nyxgate::providers {

namespace {

using detail::at;
using detail::each;
using detail::first;
using detail::node;
using detail::num;
using detail::parsed_json;
using detail::pick;
using detail::str;

std::string finish_of(std::string_view provider, std::string_view raw) {
  if (raw.empty()) return {};
  if (provider == "anthropic") {
    if (raw == "end_turn" || raw == "stop_sequence" || raw == "pause_turn") return "stop";
    if (raw == "max_tokens") return "length";
    if (raw == "tool_use") return "tool_calls";
    if (raw == "refusal") return "content_filter";
    return "stop";
  }
  if (provider == "google") {
    if (raw == "STOP") return "stop";
    if (raw == "MAX_TOKENS") return "length";
    if (raw == "SAFETY" || raw == "RECITATION" || raw == "BLOCKLIST" ||
        raw == "PROHIBITED_CONTENT" || raw == "SPII" || raw == "IMAGE_SAFETY")
      return "content_filter";
    if (raw == "FINISH_REASON_UNSPECIFIED") return {};
    return "stop";
  }
  return std::string{raw};
}

/// Text of a Gemini candidate: every text part, in order.
std::string google_text(node candidate) {
  std::string out;
  each(at(at(candidate, "content"), "parts"), [&out](node p) {
    auto t = str(at(p, "text"));
    out.append(t.data(), t.size());
  });
  return out;
}

std::optional<std::int64_t> retry_after_ms(std::string_view v) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
    try {
      // Clamped: a day is far past any cap, and a huge value must not overflow.
      return static_cast<std::int64_t>(std::min(std::stod(std::string{v}), 86400.0) * 1000);
    } catch (...) {
      return std::nullopt;
    }
  }
  // An HTTP-date (IMF-fixdate): Sun, 06 Nov 1994 08:49:37 GMT.
  std::tm tm{};
  std::string text{v};
  if (!strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S", &tm)) return std::nullopt;
  auto when = timegm(&tm);
  auto delta = static_cast<std::int64_t>(when - std::time(nullptr));
  return std::max<std::int64_t>(delta, 0) * 1000;
}

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

/// The error a stream sends inside a 2xx body (Anthropic `event: error`, an OpenAI error chunk).
failure stream_error(std::string_view provider, node doc) {
  auto e = at(doc, "error");
  auto type = str(at(e, "type"));
  auto code = str(at(e, "code"));
  auto status_text = str(at(e, "status"));
  failure f;
  f.kind = failure_kind::retryable;
  std::string what{!type.empty() ? type : !code.empty() ? code : status_text};
  if (type == "authentication_error" || type == "permission_error" || code == "invalid_api_key")
    f.kind = failure_kind::key_invalid;
  else if (code == "insufficient_quota" || type == "insufficient_quota")
    f.kind = failure_kind::key_quota;
  f.reason = "stream error";
  if (!what.empty()) f.reason.append(": ").append(what);
  if (provider == "anthropic" && type == "overloaded_error") f.status = 529;
  return f;
}

}  // namespace

std::variant<chat_completion, std::string> parse_completion(std::string_view provider,
                                                            const std::string& body) {
  if (provider != "anthropic" && provider != "google") {
    if (auto fast = detail::scan_openai_chunk(body, detail::openai_shape::completion)) {
      if (!fast->has_choice) return std::string{"the answer has no choices"};
      chat_completion c;
      c.content = std::move(fast->content);
      c.finish_reason = finish_of(provider, fast->finish_reason);
      if (fast->usage) {
        c.usage.prompt_tokens = fast->usage->prompt_tokens;
        c.usage.completion_tokens = fast->usage->completion_tokens;
      }
      c.upstream_id = std::move(fast->id);
      if (c.finish_reason.empty()) c.finish_reason = "stop";
      return c;
    }
  }
  parsed_json doc(body);
  if (!doc.ok || !doc.value.is_object()) return std::string{"the answer is not a JSON object"};
  chat_completion c;
  auto v = doc.value;
  if (provider == "anthropic") {
    bool blocks = each(at(v, "content"), [&c](node b) {
      if (str(at(b, "type")) == "text") c.content += str(at(b, "text"));
    });
    if (!blocks) return std::string{"the answer has no content blocks"};
    c.finish_reason = finish_of(provider, str(at(v, "stop_reason")));
    c.usage.prompt_tokens = num(at(at(v, "usage"), "input_tokens"));
    c.usage.completion_tokens = num(at(at(v, "usage"), "output_tokens"));
    c.upstream_id = str(at(v, "id"));
  } else if (provider == "google") {
    auto candidate = first(at(v, "candidates"));
    if (!candidate) return std::string{"the answer has no candidates"};
    c.content = google_text(candidate);
    c.finish_reason = finish_of(provider, str(at(candidate, "finishReason")));
    auto usage = at(v, "usageMetadata");
    c.usage.prompt_tokens = num(at(usage, "promptTokenCount"));
    c.usage.completion_tokens = num(at(usage, "candidatesTokenCount"));
    c.upstream_id = str(at(v, "responseId"));
  } else {
    // Read by the one-pass reader above; this is the DOM's reading of the same fields.
    auto [choices, usage, id] = pick<3>(v, {"choices", "usage", "id"});
    auto choice = first(choices);
    if (!choice) return std::string{"the answer has no choices"};
    auto [message, finish] = pick<2>(choice, {"message", "finish_reason"});
    c.content = str(at(message, "content"));
    c.finish_reason = finish_of(provider, str(finish));
    auto [prompt, completion] = pick<2>(usage, {"prompt_tokens", "completion_tokens"});
    c.usage.prompt_tokens = num(prompt);
    c.usage.completion_tokens = num(completion);
    c.upstream_id = str(id);
  }
  if (c.finish_reason.empty()) c.finish_reason = "stop";
  return c;
}

failure classify_failure(std::string_view provider, unsigned status, std::string_view body,
                         std::string_view retry_after) {
  failure f;
  f.status = status;
  f.retry_after_ms = retry_after_ms(retry_after);
  parsed_json doc(body.substr(0, 64 << 10));
  auto e = doc.ok ? at(doc.value, "error") : node{};
  std::string_view message = str(at(e, "message"));
  std::string_view type = str(at(e, "type"));
  std::string_view code = str(at(e, "code"));
  std::string_view google_status = str(at(e, "status"));
  std::string_view google_reason;
  each(at(e, "details"), [&google_reason](node d) {
    if (!str(at(d, "reason")).empty()) google_reason = str(at(d, "reason"));
  });
  // The short reason names the status and the provider's error code, never its message (an
  // invalid-key message quotes part of the key).
  std::string_view label = !code.empty()            ? code
                           : !google_reason.empty() ? google_reason
                           : !google_status.empty() ? google_status
                                                    : type;
  f.reason = "http ";
  f.reason.append(std::to_string(status));
  if (!label.empty()) f.reason.append(" ").append(label.substr(0, 64));

  bool quota = code == "insufficient_quota" || type == "insufficient_quota" ||
               type == "exceeded_current_quota_error" ||
               (provider == "anthropic" && contains(message, "credit balance is too low"));
  if (status == 401 || status == 403 ||
      (status == 400 && (google_reason == "API_KEY_INVALID" || code == "invalid_api_key"))) {
    f.kind = failure_kind::key_invalid;
  } else if (status == 402 || ((status == 429 || status == 400) && quota)) {
    f.kind = failure_kind::key_quota;
  } else if (status == 408 || status == 409 || status == 425 || status == 429 || status >= 500) {
    f.kind = failure_kind::retryable;
  } else {
    f.kind = failure_kind::client_error;
    if (message.empty())
      f.message.append("the provider rejected the request (").append(f.reason).append(")");
    else
      f.message = message;
    f.type = provider == "google" || type.empty() || type == "error" ? "invalid_request_error"
                                                                     : std::string{type};
  }
  return f;
}

failure transport_failure(std::string_view what) {
  failure f;
  bool local = what.starts_with("request:") || what.starts_with("url:");
  f.kind = local ? failure_kind::local_error : failure_kind::retryable;
  f.status = 0;
  f.reason = std::string{what.substr(0, 120)};
  if (f.reason.empty()) f.reason = "connection failed";
  return f;
}

// -- the stream translator ----------------------------------------------------------------

stream_translator::stream_translator(std::string provider) : provider_(std::move(provider)) {}

stream_step stream_translator::on_event(const sse_event& e) {
  stream_step step;
  if (provider_ != "anthropic" && provider_ != "google") {
    if (e.data != "[DONE]") return on_openai_chunk(e);
    step.done = true;
    return step;
  }
  parsed_json doc(e.data);
  if (!doc.ok || !doc.value.is_object()) {
    step.error = transport_failure("unreadable stream event");
    return step;
  }
  auto v = doc.value;
  if (at(v, "error") &&
      (provider_ != "anthropic" || e.event == "error" || str(at(v, "type")) == "error")) {
    step.error = stream_error(provider_, v);
    return step;
  }
  if (!started_) {
    started_ = true;
    step.role_start = true;
  }
  if (provider_ == "anthropic") {
    auto type = e.event.empty() ? str(at(v, "type")) : std::string_view{e.event};
    if (type == "message_start") {
      auto usage = at(at(v, "message"), "usage");
      usage_.prompt_tokens = num(at(usage, "input_tokens"));
      usage_.completion_tokens = num(at(usage, "output_tokens"));
      step.usage = usage_;
    } else if (type == "content_block_delta") {
      auto delta = at(v, "delta");
      if (str(at(delta, "type")) == "text_delta") step.content = str(at(delta, "text"));
    } else if (type == "message_delta") {
      step.finish_reason = finish_of(provider_, str(at(at(v, "delta"), "stop_reason")));
      auto usage = at(v, "usage");
      if (auto out = at(usage, "output_tokens")) usage_.completion_tokens = num(out);
      if (auto in = at(usage, "input_tokens"); in && num(in) > 0) usage_.prompt_tokens = num(in);
      step.usage = usage_;
    } else if (type == "message_stop") {
      step.done = true;
    }
    return step;
  }
  auto candidate = first(at(v, "candidates"));  // google
  step.content = google_text(candidate);
  step.finish_reason = finish_of(provider_, str(at(candidate, "finishReason")));
  if (auto usage = at(v, "usageMetadata")) {
    usage_.prompt_tokens = num(at(usage, "promptTokenCount"));
    usage_.completion_tokens = num(at(usage, "candidatesTokenCount"));
    step.usage = usage_;
  }
  return step;
}

/// OpenAI and Kimi chunks: the one-pass reader for the usual chunk, the DOM for the rest.
stream_step stream_translator::on_openai_chunk(const sse_event& e) {
  stream_step step;
  auto chunk = detail::scan_openai_chunk(e.data);
  if (!chunk) chunk = detail::read_openai_chunk_dom(e.data);
  if (!chunk) {
    step.error = transport_failure("unreadable stream event");
    return step;
  }
  if (chunk->has_error) {
    parsed_json doc(e.data);
    step.error = stream_error(provider_, doc.value);
    return step;
  }
  if (!started_) {
    started_ = true;
    step.role_start = true;
  }
  auto take_usage = [&](const std::optional<detail::chunk_usage>& u) {
    if (!u) return;
    usage_.prompt_tokens = u->prompt_tokens;
    usage_.completion_tokens = u->completion_tokens;
    step.usage = usage_;
  };
  if (chunk->has_choice) {
    step.content = std::move(chunk->content);
    step.finish_reason = finish_of(provider_, chunk->finish_reason);
    take_usage(chunk->choice_usage);  // Kimi reports usage inside the final choice
  }
  take_usage(chunk->usage);
  return step;
}

}  // namespace nyxgate::providers
