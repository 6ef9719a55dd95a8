// libFuzzer target: every provider's answer parsers on arbitrary bytes — the non-stream body,
// the error classifier and the stream translator (through the SSE parser). The first byte
// picks the provider. Nothing may crash, and every result must render to valid output.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "providers/chat.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nyxgate::providers;
  if (size == 0) return 0;
  static const char* const providers[] = {"openai", "anthropic", "google", "kimi"};
  const char* provider = providers[data[0] % 4];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  auto parsed = parse_completion(provider, std::string{body});
  if (auto* c = std::get_if<chat_completion>(&parsed))
    (void)render_completion(*c, "chatcmpl-fuzz", "model", 0);

  auto f = classify_failure(provider, 400 + data[0] % 200, body, body.substr(0, 40));
  if (f.reason.empty()) __builtin_trap();

  sse_parser parser(1 << 16);
  std::vector<sse_event> events;
  parser.feed(body, events);
  stream_translator t(provider);
  for (const auto& e : events) {
    auto step = t.on_event(e);
    (void)render_chunk("id", "m", 0, step.content, step.role_start, step.finish_reason);
  }

  (void)parse_chat_request(body);
  return 0;
}
