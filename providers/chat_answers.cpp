// The providers' answers back into OpenAI's shape through each provider's adapter:
// parse_completion, classify_failure and the stream translator (SPEC §3, §4).
#include <algorithm>
#include <ctime>

#include "providers/adapter.hpp"
#include "providers/chat.hpp"
#include "providers/detail/json_doc.hpp"
#include "providers/registry.hpp"

namespace nyxgate::providers {

namespace {

using detail::at;
using detail::each;
using detail::node;
using detail::parsed_json;
using detail::str;

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

}  // namespace

std::variant<chat_completion, std::string> parse_completion(std::string_view provider,
                                                            const std::string& body) {
  auto out = chat_of(provider).parse_completion(body);
  if (auto* c = std::get_if<chat_completion>(&out); c && c->finish_reason.empty())
    c->finish_reason = "stop";
  return out;
}

failure classify_failure(std::string_view provider, unsigned status, std::string_view body,
                         std::string_view retry_after) {
  const auto& adapter = chat_of(provider);
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
               type == "exceeded_current_quota_error" || adapter.says_quota(message);
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
    f.type = adapter.client_error_type(type);
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

stream_translator::stream_translator(std::string_view provider) : adapter_(&chat_of(provider)) {}

stream_step stream_translator::on_event(const sse_event& e) {
  return adapter_->on_event(state_, e);
}

}  // namespace nyxgate::providers
