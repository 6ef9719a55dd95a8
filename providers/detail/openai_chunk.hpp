#pragma once
// What the stream translator takes from an OpenAI-shaped `chat.completion.chunk` (openai,
// kimi), read two ways: a one-pass reader for the usual chunk, and simdjson's DOM for
// everything. A stream parses one chunk per token, and the DOM parse of a ~150-byte chunk was
// the largest single cost of a streamed call (about 2.2k instructions per event).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nyxgate::providers::detail {

struct chunk_usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  bool operator==(const chunk_usage&) const = default;
};

struct openai_chunk {
  bool has_error = false;     ///< a top-level "error": the caller reads it from the document
  bool has_choice = false;    ///< `choices` is an array with a first element
  std::string content;        ///< choices[0].delta.content, unescaped ("" if absent)
  std::string finish_reason;  ///< choices[0].finish_reason as sent ("" if absent or null)
  std::optional<chunk_usage> choice_usage;  ///< choices[0].usage (Kimi), when an object
  std::optional<chunk_usage> usage;         ///< the top-level usage, when an object
  bool operator==(const openai_chunk&) const = default;
};

/// The one-pass reader. It validates the whole text as JSON and reads the fields above, or
/// gives up (nullopt) on anything outside the usual shape: invalid JSON, a root that is not
/// an object, a top-level "error", `\u` escapes, escaped keys where keys are compared,
/// numbers with a fraction or exponent or over 18 digits, nesting past 16 levels, more than
/// 16 KiB. Where it answers, the answer equals `read_openai_chunk_dom`'s (fuzzed). It reads
/// the NUL a std::string keeps after its text as the end mark.
std::optional<openai_chunk> scan_openai_chunk(const std::string& text);

/// The same fields through simdjson's DOM, for every valid chunk: nullopt when the text is
/// not a JSON object.
std::optional<openai_chunk> read_openai_chunk_dom(std::string_view text);

}  // namespace nyxgate::providers::detail
