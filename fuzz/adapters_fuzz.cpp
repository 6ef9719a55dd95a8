// libFuzzer target: every provider's answer parsers on arbitrary bytes — the non-stream body,
// the embeddings answer, the error classifier and the stream translator (through the SSE
// parser). The first byte picks the provider. Nothing may crash, and everything rendered from
// a result (the completion with its tool calls, each chunk with its tool call pieces, the
// usage chunk, the embeddings list as floats and as base64) must be valid JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "providers/chat.hpp"
#include "providers/embeddings.hpp"

namespace {

void must_be_json(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) __builtin_trap();
}

const nyxgate::providers::embedding_request& two_inputs() {
  static const auto req = std::get<nyxgate::providers::embedding_request>(
      nyxgate::providers::parse_embedding_request(R"({"input":["a","b"]})"));
  return req;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nyxgate::providers;
  if (size == 0) return 0;
  static const char* const providers[] = {"openai", "anthropic", "google", "kimi"};
  const char* provider = providers[data[0] % 4];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  auto parsed = parse_completion(provider, std::string{body});
  if (auto* c = std::get_if<chat_completion>(&parsed))
    must_be_json(render_completion(*c, "chatcmpl-fuzz", "model", 0));

  auto embedded = parse_embeddings(provider, two_inputs(), std::string{body});
  if (auto* c = std::get_if<chat_completion>(&embedded)) {
    if (!c->embedding || c->embedding->vectors.size() != 2) __builtin_trap();
    must_be_json(render_embeddings(*c->embedding, "model", false));
    must_be_json(render_embeddings(*c->embedding, "model", true));
  }

  auto f = classify_failure(provider, 400 + data[0] % 200, body, body.substr(0, 40));
  if (f.reason.empty()) __builtin_trap();

  sse_parser parser(1 << 16);
  std::vector<sse_event> events;
  parser.feed(body, events);
  stream_translator t(provider);
  auto head = render_chunk_head("chatcmpl-fuzz", "m", 0);
  std::string chunk;
  for (const auto& e : events) {
    auto step = t.on_event(e);
    chunk.clear();
    append_chunk_with_head(chunk, head, step.content, step.role_start, step.finish_reason,
                           step.tool_calls);
    must_be_json(chunk);
    if (step.usage) must_be_json(render_usage_chunk("chatcmpl-fuzz", "m", 0, *step.usage));
  }

  (void)parse_chat_request(body);
  return 0;
}
