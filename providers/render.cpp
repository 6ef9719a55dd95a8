// OpenAI's answer shapes: the completion, the stream chunks and the error body.
#include <string>
#include <string_view>

#include "providers/chat.hpp"
#include "providers/chat_json.hpp"
#include "providers/detail/wire.hpp"

namespace nyxgate::providers {

using namespace std::string_view_literals;
using detail::append_int;

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
                            bool role_start, std::string_view finish_reason,
                            std::span<const tool_call_delta> tool_calls) {
  static_cast<void>(tool_calls);
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
