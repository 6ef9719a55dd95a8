// OpenAI's chat API (SPEC §4): the adapter every OpenAI-compatible provider shares, and
// OpenAI's own dialect and registry pieces.
#include "providers/detail/openai_compatible.hpp"

#include <algorithm>

#include "providers/chat_json.hpp"
#include "providers/detail/embedding_wire.hpp"
#include "providers/detail/json_doc.hpp"
#include "providers/detail/openai_chunk.hpp"
#include "providers/detail/wire.hpp"

namespace nyxgate::providers {

namespace detail {

namespace {

/// A message's content as OpenAI's parts: text and image_url, in the client's order. Kept out
/// of `body` (as is append_tool_calls): the plain message's loop stays small.
[[gnu::noinline]] void append_parts(std::string& out, const std::vector<content_part>& parts) {
  out += '[';
  bool first = true;
  for (const auto& p : parts) {
    if (!first) out += ',';
    first = false;
    if (p.type == content_part::kind::text) {
      out += R"({"type":"text","text":)";
      append_json_string(out, p.text);
      out += '}';
      continue;
    }
    const auto& image = p.image;
    out += R"({"type":"image_url","image_url":{"url":)";
    if (image.url.empty()) {
      // Both pieces were checked when the request was read (a known media type, base64
      // characters): nothing in them needs escaping.
      out += "\"data:";
      out += image.media_type;
      out += ";base64,";
      out += image.data;
      out += '"';
    } else {
      append_json_string(out, image.url);
    }
    if (!image.detail.empty()) {
      out += R"(,"detail":)";
      append_json_string(out, image.detail);
    }
    out += "}}";
  }
  out += ']';
}

[[gnu::noinline]] void append_tool_calls(std::string& out, const std::vector<tool_call>& calls) {
  out += R"(,"tool_calls":[)";
  bool first = true;
  for (const auto& c : calls) {
    out += first ? R"({"id":)" : R"(,{"id":)";
    first = false;
    append_json_string(out, c.id);
    out += R"(,"type":"function","function":{"name":)";
    append_json_string(out, c.name);
    out += R"(,"arguments":)";
    append_json_string(out, c.arguments);
    out += "}}";
  }
  out += ']';
}

std::size_t message_size(const chat_message& m) {
  std::size_t size = m.content.size() + m.name.size() + m.tool_call_id.size() + 48;
  for (const auto& p : m.parts)
    size += p.text.size() + p.image.url.size() + p.image.data.size() + 64;
  for (const auto& c : m.tool_calls) size += c.id.size() + c.name.size() + c.arguments.size() + 64;
  return size;
}

/// Fields that sit in the messages, not at the top level.
bool message_level(chat_param p) {
  return p == chat_param::message_name || p == chat_param::image_part ||
         p == chat_param::tool_message;
}

}  // namespace

/// Written straight into one string (the body goes out on every call: building a JSON DOM
/// first cost two dozen allocations).
std::string openai_compatible::body(const chat_request& req, std::string_view model,
                                    std::int64_t max_tokens) const {
  std::size_t size = 256 + model.size();
  for (const auto& m : req.messages) size += message_size(m);
  for (const auto& p : req.provider_params) size += p.json.size() + p.where.size() + 32;
  std::string out;
  out.reserve(size);
  out += R"({"model":)";
  append_json_string(out, model);
  out += R"(,"messages":[)";
  bool first = true;
  for (const auto& m : req.messages) {
    std::string_view role = dialect_.developer_as_system && m.role == "developer"
                                ? std::string_view{"system"}
                                : std::string_view{m.role};
    out += first ? R"({"role":)" : R"(,{"role":)";
    first = false;
    append_json_string(out, role);
    out += R"(,"content":)";
    if (!m.parts.empty())
      append_parts(out, m.parts);
    else if (m.content.empty() && !m.tool_calls.empty())
      out += "null";
    else
      append_json_string(out, m.content);
    if (!m.name.empty()) {
      out += R"(,"name":)";
      append_json_string(out, m.name);
    }
    if (!m.tool_calls.empty()) append_tool_calls(out, m.tool_calls);
    if (!m.tool_call_id.empty()) {
      out += R"(,"tool_call_id":)";
      append_json_string(out, m.tool_call_id);
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
  out += R"(,")";
  out += dialect_.max_tokens_field;
  out += R"(":)";
  append_int(out, max_tokens);
  for (const auto& p : req.provider_params) {
    if (message_level(p.id) || handling(p.id) != param_handling::forwarded) continue;
    out += ',';
    append_json_string(out,
                       p.id == chat_param::other ? std::string_view{p.where} : param_key(p.id));
    out += ':';
    out += p.json;
  }
  // Usage is recorded for every call, so a stream always asks for it.
  if (req.stream) out += R"(,"stream":true,"stream_options":{"include_usage":true})";
  out += '}';
  return out;
}

upstream_request openai_compatible::build_request(std::string_view base_url,
                                                  std::string_view api_key, const chat_request& req,
                                                  std::string_view model,
                                                  std::int64_t max_tokens) const {
  upstream_request out;
  out.url = trimmed_base(base_url) + "/v1/chat/completions";
  std::string bearer = "Bearer ";
  bearer += api_key;
  out.headers.reserve(3);
  out.headers.emplace_back("authorization", std::move(bearer));
  out.headers.emplace_back("content-type", "application/json");
  out.headers.emplace_back("accept", req.stream ? "text/event-stream" : "application/json");
  out.body = body(req, model, max_tokens);
  return out;
}

namespace {

token_usage usage_of(const chunk_usage& u) {
  return token_usage{u.prompt_tokens, u.completion_tokens, u.cached_tokens, u.reasoning_tokens};
}

/// A chunk's tool call pieces into `step`. Out of `on_event`: a text chunk's path stays small.
[[gnu::noinline]] void take_tool_calls(stream_state& s, stream_step& step,
                                       std::vector<tool_call_delta>& pieces) {
  for (const auto& piece : pieces) s.tool_calls = std::max(s.tool_calls, piece.index + 1);
  step.tool_calls = std::move(pieces);
}

}  // namespace

/// The one-pass reader for the usual answer, the DOM for the rest (tool calls among them).
std::variant<chat_completion, std::string> openai_compatible::parse_completion(
    const std::string& text) const {
  auto answer = scan_openai_chunk(text, openai_shape::completion);
  if (!answer) answer = read_openai_chunk_dom(text, openai_shape::completion);
  if (!answer || answer->has_error) return std::string{"the answer is not a JSON object"};
  if (!answer->has_choice) return std::string{"the answer has no choices"};
  chat_completion c;
  c.content = std::move(answer->content);
  c.finish_reason = std::move(answer->finish_reason);
  if (answer->usage) c.usage = usage_of(*answer->usage);
  c.upstream_id = std::move(answer->id);
  c.tool_calls.reserve(answer->tool_calls.size());
  for (auto& call : answer->tool_calls)
    c.tool_calls.push_back(
        tool_call{std::move(call.id), std::move(call.name), std::move(call.arguments)});
  return c;
}

/// The one-pass reader for the usual chunk, the DOM for the rest.
stream_step openai_compatible::on_event(stream_state& s, const sse_event& e) const {
  stream_step step;
  if (e.data == "[DONE]") {
    step.done = true;
    return step;
  }
  auto chunk = scan_openai_chunk(e.data);
  if (!chunk) chunk = read_openai_chunk_dom(e.data);
  if (!chunk) {
    step.error = transport_failure("unreadable stream event");
    return step;
  }
  if (chunk->has_error) {
    parsed_json doc(e.data);
    step.error = stream_error(doc.value);
    return step;
  }
  step.role_start = s.start();
  auto take_usage = [&](const std::optional<chunk_usage>& u) {
    if (!u) return;
    s.usage = usage_of(*u);
    step.usage = s.usage;
  };
  if (chunk->has_choice) {
    step.content = std::move(chunk->content);
    step.finish_reason = std::move(chunk->finish_reason);
    if (!chunk->tool_calls.empty()) take_tool_calls(s, step, chunk->tool_calls);
    take_usage(chunk->choice_usage);  // Kimi reports usage inside the final choice
  }
  take_usage(chunk->usage);
  return step;
}

probe_request openai_compatible::request(std::string_view base_url, std::string_view secret) const {
  probe_request r;
  r.url = trimmed_base(base_url) + "/v1/models";
  r.headers = {{"authorization", "Bearer " + std::string{secret}}};
  return r;
}

upstream_request openai_compatible::build_embedding_request(std::string_view base_url,
                                                            std::string_view api_key,
                                                            const embedding_request& req,
                                                            std::string_view model) const {
  upstream_request out;
  out.url = trimmed_base(base_url) + "/v1/embeddings";
  out.headers = {{"authorization", "Bearer " + std::string{api_key}},
                 {"content-type", "application/json"},
                 {"accept", "application/json"}};
  out.body = openai_embedding_body(req, model);
  return out;
}

std::variant<embedding_result, std::string> openai_compatible::parse_embeddings(
    const std::string& body) const {
  return read_openai_embeddings(body);
}

}  // namespace detail

namespace {

param_handling openai_handling(chat_param) {
  return param_handling::forwarded;
}

}  // namespace

const provider_adapter& openai_adapter() {
  // OpenAI's reasoning models refuse max_tokens; max_completion_tokens works for every model.
  static const detail::openai_compatible adapter{
      {"openai", "max_completion_tokens", false, &openai_handling, "text-embedding-3-small"}};
  return adapter;
}

}  // namespace nyxgate::providers
