// libFuzzer target, differential: wherever the one-pass reader answers, for a stream chunk or
// a whole completion, its answer must equal the DOM reader's (providers/detail/
// openai_chunk.hpp). A difference traps.
#include <cstddef>
#include <cstdint>
#include <string>

#include "providers/detail/openai_chunk.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nyxgate::providers::detail;
  std::string text(reinterpret_cast<const char*>(data), size);
  for (auto shape : {openai_shape::chunk, openai_shape::completion}) {
    auto fast = scan_openai_chunk(text, shape);
    if (!fast) continue;
    auto dom = read_openai_chunk_dom(text, shape);
    if (!dom || !(*dom == *fast) || fast->has_error) __builtin_trap();
  }
  return 0;
}
