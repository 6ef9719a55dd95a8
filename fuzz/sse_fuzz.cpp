// libFuzzer target: the SSE parser fed arbitrary bytes in arbitrary splits. The first byte of the
// input chooses the split size; the parser must never crash, loop or grow past its bound.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "providers/chat.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t step = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  nyxgate::providers::sse_parser parser(4096);
  std::vector<nyxgate::providers::sse_event> events;
  for (std::size_t i = 0; i < bytes.size(); i += step) {
    if (!parser.feed(bytes.substr(i, step), events)) break;
    for (const auto& e : events)
      if (e.data.size() > 4096) __builtin_trap();
    events.clear();
  }
  return 0;
}
