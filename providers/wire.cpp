// Pieces several adapters share (providers/detail/wire.hpp).
#include "providers/detail/wire.hpp"

#include <array>
#include <charconv>

namespace nyxgate::providers::detail {

namespace {

/// The wire name of a forwarded parameter (`chat_param` order; "" for the message-level ones
/// and `other`, whose key is its `where`).
constexpr std::array<std::string_view, 22> param_keys{"frequency_penalty",
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
                                                      "name",
                                                      "tools",
                                                      "tool_choice",
                                                      "parallel_tool_calls",
                                                      "",
                                                      "",
                                                      ""};
static_assert(param_keys.size() == static_cast<std::size_t>(chat_param::other) + 1);

}  // namespace

std::string_view param_key(chat_param p) {
  return param_keys[static_cast<std::size_t>(p)];
}

std::string trimmed_base(std::string_view base) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string{base};
}

std::string system_text(const chat_request& req) {
  std::string out;
  for (const auto& m : req.messages) {
    if (m.role != "system" && m.role != "developer") continue;
    if (!out.empty()) out += "\n\n";
    out += m.content;
  }
  return out;
}

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

std::string& append_int(std::string& out, std::int64_t v) {
  if (v >= 0 && v < 10) {  // the usual token detail (0) without to_chars
    out.push_back(static_cast<char>('0' + v));
    return out;
  }
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  return out.append(buf, static_cast<std::size_t>(end - buf));
}

void append_number(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  out.append(buf, ec == std::errc{} ? static_cast<std::size_t>(end - buf) : 0);
}

failure stream_error(node doc) {
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
  return f;
}

}  // namespace nyxgate::providers::detail
