#pragma once
// What nyxgate takes from an OpenAI-shaped answer (openai, kimi): a stream's
// `chat.completion.chunk` or a whole `chat.completion`, read two ways: a one-pass reader for
// the usual text, and simdjson's DOM for everything. A stream parses one chunk per token, and
// a DOM parse of each ~150-byte chunk would be the largest single cost of a streamed call.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "providers/chat.hpp"

namespace nyxgate::providers::detail {

/// A usage object's counts. `cached_tokens`: prompt_tokens_details.cached_tokens, or Kimi's
/// top-level cached_tokens, whichever is larger; `reasoning_tokens`:
/// completion_tokens_details.reasoning_tokens.
struct chunk_usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t cached_tokens = 0;
  std::int64_t reasoning_tokens = 0;
  bool operator==(const chunk_usage&) const = default;
};

/// Which answer a text is: it names the object that holds choices[0]'s content.
enum class openai_shape {
  chunk,       ///< `chat.completion.chunk`: choices[0].delta
  completion,  ///< `chat.completion`: choices[0].message, and the top-level id is read
};

struct openai_chunk {
  bool has_error = false;     ///< a top-level "error": the caller reads it from the document
  bool has_choice = false;    ///< `choices` is an array with a first element
  std::string content;        ///< choices[0].delta.content (or .message.content), unescaped
  std::string finish_reason;  ///< choices[0].finish_reason as sent ("" if absent or null)
  std::optional<chunk_usage> choice_usage;  ///< choices[0].usage (Kimi), when an object
  std::optional<chunk_usage> usage;         ///< the top-level usage, when an object
  std::string id;  ///< the top-level id of a completion ("" if absent); a chunk's is not read
  /// choices[0].delta.tool_calls (or .message.tool_calls, indexed by position); only the DOM
  /// reader fills it: the one-pass reader gives up on tool calls.
  std::vector<tool_call_delta> tool_calls;
  bool operator==(const openai_chunk&) const = default;
};

/// The one-pass reader. It validates the whole text as JSON and reads the fields above, or
/// gives up (nullopt) on anything outside the usual shape: invalid JSON, a root that is not
/// an object, a top-level "error", tool calls (other than null or []), `\u` escapes, escaped
/// keys where keys are compared,
/// numbers with a fraction or exponent or over 18 digits, nesting past 16 levels, more than
/// 16 KiB for a chunk or 1 MiB for a completion. Where it answers, the answer equals
/// `read_openai_chunk_dom`'s (fuzzed). It reads the NUL a std::string keeps after its text as
/// the end mark.
std::optional<openai_chunk> scan_openai_chunk(const std::string& text,
                                              openai_shape shape = openai_shape::chunk);

/// The same fields through simdjson's DOM, for every valid text: nullopt when the text is
/// not a JSON object.
std::optional<openai_chunk> read_openai_chunk_dom(std::string_view text,
                                                  openai_shape shape = openai_shape::chunk);

}  // namespace nyxgate::providers::detail
