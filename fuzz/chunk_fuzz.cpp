// libFuzzer target, differential: wherever the one-pass chunk reader answers, its answer must
// equal the DOM reader's (providers/detail/openai_chunk.hpp). A difference traps.
#include <cstddef>
#include <cstdint>
#include <string>

#include "providers/detail/openai_chunk.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nyxgate::providers::detail;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto fast = scan_openai_chunk(text);
  if (!fast) return 0;
  auto dom = read_openai_chunk_dom(text);
  if (!dom || !(*dom == *fast) || fast->has_error) __builtin_trap();
  return 0;
}
