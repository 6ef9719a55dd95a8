// OpenAI's answer shapes: the completion, the stream chunks and the error body.
#include <string>
#include <string_view>

#include "providers/chat.hpp"
#include "providers/chat_json.hpp"
#include "providers/detail/wire.hpp"

namespace nyxgate::providers {

using namespace std::string_view_literals;
using detail::append_int;

namespace {

/// `"usage":{...}` with the details OpenAI always sends.
void append_usage(std::string& out, const token_usage& u) {
  append_int(out.append(R"("usage":{"prompt_tokens":)"sv), u.prompt_tokens);
  append_int(out.append(R"(,"completion_tokens":)"sv), u.completion_tokens);
  append_int(out.append(R"(,"total_tokens":)"sv), u.prompt_tokens + u.completion_tokens);
  if (u.cached_tokens == 0 && u.reasoning_tokens == 0) {  // the usual details: one append
    out.append(
        R"(,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}})"sv);
    return;
  }
  append_int(out.append(R"(,"prompt_tokens_details":{"cached_tokens":)"sv), u.cached_tokens);
  append_int(out.append(R"(},"completion_tokens_details":{"reasoning_tokens":)"sv),
             u.reasoning_tokens);
  out.append("}}"sv);
}

}  // namespace

std::string render_completion(const chat_completion& c, std::string_view id, std::string_view model,
                              std::int64_t created) {
  std::string out;
  std::size_t size = c.content.size() + id.size() + model.size() + 320;
  for (const auto& t : c.tool_calls) size += t.id.size() + t.name.size() + t.arguments.size() + 64;
  out.reserve(size);
  out.append(R"({"id":)"sv);
  append_json_string(out, id);
  append_int(out.append(R"(,"object":"chat.completion","created":)"sv), created);
  out.append(R"(,"model":)"sv);
  append_json_string(out, model);
  out.append(R"(,"choices":[{"index":0,"message":{"role":"assistant","content":)"sv);
  if (c.content.empty() && !c.tool_calls.empty())
    out.append("null"sv);
  else
    append_json_string(out, c.content);
  out.append(R"(,"refusal":null)"sv);
  if (!c.tool_calls.empty()) {
    out.append(R"(,"tool_calls":[)"sv);
    bool first = true;
    for (const auto& t : c.tool_calls) {
      out.append(first ? R"({"id":)"sv : R"(,{"id":)"sv);
      first = false;
      append_json_string(out, t.id);
      out.append(R"(,"type":"function","function":{"name":)"sv);
      append_json_string(out, t.name);
      out.append(R"(,"arguments":)"sv);
      append_json_string(out, t.arguments);
      out.append("}}"sv);
    }
    out += ']';
  }
  out.append(R"(},"logprobs":null,"finish_reason":)"sv);
  append_json_string(out, c.finish_reason.empty() ? std::string_view{"stop"} : c.finish_reason);
  out.append("}],"sv);
  append_usage(out, c.usage);
  out += '}';
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
    comma = true;
  }
  if (!tool_calls.empty()) {
    if (comma) out += ',';
    out.append(R"("tool_calls":[)"sv);
    bool first = true;
    for (const auto& t : tool_calls) {
      append_int(out.append(first ? R"({"index":)"sv : R"(,{"index":)"sv), t.index);
      first = false;
      // A call's first piece names it; the later ones carry argument fragments only.
      if (!t.id.empty() || !t.name.empty()) {
        out.append(R"(,"id":)"sv);
        append_json_string(out, t.id);
        out.append(R"(,"type":"function","function":{"name":)"sv);
        append_json_string(out, t.name);
        out += ',';
      } else {
        out.append(R"(,"function":{)"sv);
      }
      out.append(R"("arguments":)"sv);
      append_json_string(out, t.arguments);
      out.append("}}"sv);
    }
    out += ']';
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
  out.reserve(id.size() + model.size() + 256);
  out.append(R"({"id":)"sv);
  append_json_string(out, id);
  append_int(out.append(R"(,"object":"chat.completion.chunk","created":)"sv), created);
  out.append(R"(,"model":)"sv);
  append_json_string(out, model);
  out.append(R"(,"choices":[],)"sv);
  append_usage(out, usage);
  out += '}';
  return out;
}

}  // namespace nyxgate::providers
