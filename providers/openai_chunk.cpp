// The two readers of an OpenAI-shaped stream chunk (providers/detail/openai_chunk.hpp).
#include "providers/detail/openai_chunk.hpp"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "providers/detail/json_doc.hpp"

namespace nyxgate::providers::detail {

namespace {

constexpr int max_depth = 16;
constexpr std::size_t max_chunk_bytes = 16 << 10;
constexpr std::size_t max_completion_bytes = 1 << 20;

/// Length and first byte before the comparison call: most keys differ right there.
[[gnu::always_inline]] inline bool is(std::string_view key, std::string_view name) {
  return key.size() == name.size() && key[0] == name[0] &&
         std::memcmp(key.data(), name.data(), name.size()) == 0;
}

/// `raw` with its short escapes (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`) resolved;
/// the scanner has let no other escape through.
void unescape(std::string_view raw, std::string& out) {
  out.clear();
  out.reserve(raw.size());
  std::size_t from = 0;
  for (auto at = raw.find('\\'); at != std::string_view::npos; at = raw.find('\\', from)) {
    out.append(raw.data() + from, at - from);
    char c = raw[at + 1];
    switch (c) {
      case 'b':
        c = '\b';
        break;
      case 'f':
        c = '\f';
        break;
      case 'n':
        c = '\n';
        break;
      case 'r':
        c = '\r';
        break;
      case 't':
        c = '\t';
        break;
      default:
        break;  // '"', '\\', '/' stand for themselves
    }
    out.push_back(c);
    from = at + 2;
  }
  out.append(raw.data() + from, raw.size() - from);
}

/// The first byte from `p` on that ends a run of plain string bytes: a quote, a backslash, a
/// control character or a non-ASCII byte (or `end`). Sixteen bytes a step where SSE2 is at
/// hand: one signed comparison finds both the control characters and the bytes from 0x80.
const unsigned char* plain_run(const unsigned char* p, const unsigned char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                     _mm_cmplt_epi8(x, space));
    if (int mask = _mm_movemask_epi8(special))
      return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') ++p;  // the NUL ends it
  return p;
}

/// A JSON text read left to right. The text ends in a NUL (a std::string's), which no rule
/// takes for part of a value, so most steps need no end check. Every function returns false
/// to give up: the text is not valid JSON, or holds something this reader leaves to the DOM.
class scanner {
 public:
  explicit scanner(const std::string& text)
      : p_(reinterpret_cast<const unsigned char*>(text.c_str())), end_(p_ + text.size()) {}

  bool at_end() {
    skip_ws();
    return p_ == end_;
  }
  [[gnu::always_inline]] bool next_is(unsigned char c) {
    skip_ws();
    return *p_ == c;
  }

  /// An object's fields: `field(key, key_escaped)` reads each value (false gives up).
  template <class Fn>
  [[gnu::always_inline]] bool object(int depth, Fn&& field) {
    if (depth >= max_depth || !next_is('{')) return false;
    ++p_;
    if (eat('}')) return true;
    while (true) {
      std::string_view key;
      bool escaped = false;
      if (!next_is('"') || !string(key, escaped) || !eat(':')) return false;
      if (!field(key, escaped)) return false;
      if (eat(',')) continue;
      return eat('}');
    }
  }

  /// An array's elements: `element(index)` reads each one.
  template <class Fn>
  [[gnu::always_inline]] bool array(int depth, Fn&& element) {
    if (depth >= max_depth || !next_is('[')) return false;
    ++p_;
    if (eat(']')) return true;
    for (std::size_t i = 0;; ++i) {
      if (!element(i)) return false;
      if (eat(',')) continue;
      return eat(']');
    }
  }

  /// Any value, checked and passed over.
  bool skip(int depth) {
    skip_ws();
    switch (*p_) {
      case '"': {
        std::string_view raw;
        bool escaped = false;
        return string(raw, escaped);
      }
      case '{':
        return object(depth, [&](std::string_view, bool) { return skip(depth + 1); });
      case '[':
        return array(depth, [&](std::size_t) { return skip(depth + 1); });
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return integer(nullptr);
    }
  }

  /// A string value into `out` (unescaped); another kind of value is passed over, leaving
  /// `out` empty, as `str()` reads it.
  bool string_or_skip(int depth, std::string& out) {
    if (!next_is('"')) return skip(depth);
    std::string_view raw;
    bool escaped = false;
    if (!string(raw, escaped)) return false;
    if (escaped)
      unescape(raw, out);
    else
      out.assign(raw.data(), raw.size());
    return true;
  }

  /// A token count as `num()` reads it: an integer's value, 0 for a value of another kind.
  bool count_or_skip(int depth, std::int64_t& out) {
    skip_ws();
    if (*p_ == '-' || digit(*p_)) return integer(&out);
    out = 0;
    return skip(depth);
  }

  /// A usage object's counts (each field's first occurrence, as `pick`); another kind of
  /// value is passed over and leaves `out` unset.
  bool usage_or_skip(int depth, std::optional<chunk_usage>& out) {
    if (!next_is('{')) return skip(depth);
    chunk_usage u;
    std::int64_t details_cached = 0, top_cached = 0;
    bool seen_prompt = false, seen_completion = false, seen_cached = false;
    bool seen_prompt_details = false, seen_completion_details = false;
    bool ok = object(depth, [&](std::string_view key, bool escaped) {
      if (escaped) return false;
      if (is(key, "prompt_tokens") && !seen_prompt) {
        seen_prompt = true;
        return count_or_skip(depth + 1, u.prompt_tokens);
      }
      if (is(key, "completion_tokens") && !seen_completion) {
        seen_completion = true;
        return count_or_skip(depth + 1, u.completion_tokens);
      }
      if (is(key, "prompt_tokens_details") && !seen_prompt_details) {
        seen_prompt_details = true;
        return count_in_object_or_skip(depth + 1, "cached_tokens", details_cached);
      }
      if (is(key, "completion_tokens_details") && !seen_completion_details) {
        seen_completion_details = true;
        return count_in_object_or_skip(depth + 1, "reasoning_tokens", u.reasoning_tokens);
      }
      if (is(key, "cached_tokens") && !seen_cached) {
        seen_cached = true;
        return count_or_skip(depth + 1, top_cached);
      }
      return skip(depth + 1);
    });
    u.cached_tokens = std::max(details_cached, top_cached);
    if (ok) out = u;
    return ok;
  }

  /// The count under `name` in an object (its first occurrence); 0 when the value is no
  /// object or has no such field.
  [[gnu::noinline]] bool count_in_object_or_skip(int depth, std::string_view name,
                                                 std::int64_t& out) {
    if (!next_is('{')) return skip(depth);
    bool seen = false;
    return object(depth, [&](std::string_view key, bool escaped) {
      if (escaped) return false;
      if (is(key, name) && !seen) {
        seen = true;
        return count_or_skip(depth + 1, out);
      }
      return skip(depth + 1);
    });
  }

  /// A value that holds no tool call (null or []): passed over. Anything else gives up.
  [[gnu::noinline]] bool no_tool_calls(int depth) {
    if (next_is('n')) return literal("null");
    return next_is('[') && array(depth, [](std::size_t) { return false; });
  }

 private:
  static bool digit(unsigned char c) { return static_cast<unsigned char>(c - '0') <= 9; }

  [[gnu::always_inline]] void skip_ws() {
    // Compact JSON has none: one comparison says so.
    while (*p_ <= ' ' && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  [[gnu::always_inline]] bool eat(unsigned char c) {
    if (!next_is(c)) return false;
    ++p_;
    return true;
  }
  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0)
      return false;
    p_ += word.size();
    return true;
  }

  /// At the opening quote. `raw` gets the bytes between the quotes, still escaped.
  bool string(std::string_view& raw, bool& escaped) {
    const unsigned char* start = ++p_;
    while (true) {
      p_ = plain_run(p_, end_);
      unsigned char c = *p_;
      if (c == '"') {
        raw = {reinterpret_cast<const char*>(start), static_cast<std::size_t>(p_ - start)};
        ++p_;
        return true;
      }
      if (c == '\\') {
        switch (p_[1]) {  // the NUL after the text when the backslash is last
          case '"':
          case '\\':
          case '/':
          case 'b':
          case 'f':
          case 'n':
          case 'r':
          case 't':
            break;
          default:
            return false;  // `\u` (and anything invalid): the DOM's
        }
        escaped = true;
        p_ += 2;
        continue;
      }
      if (c < 0x20 || !utf8_sequence()) return false;  // a control character, or the end
    }
  }

  /// One multi-byte UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, at most
  /// U+10FFFF), as simdjson validates it.
  bool utf8_sequence() {
    unsigned char c = *p_;
    std::size_t tail = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      tail = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      tail = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      tail = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end_ - p_) <= tail || p_[1] < lo || p_[1] > hi) return false;
    for (std::size_t i = 2; i <= tail; ++i)
      if ((p_[i] & 0xC0) != 0x80) return false;
    p_ += tail + 1;
    return true;
  }

  /// An integer of at most 18 digits (an int64 whatever they are) into `*out` when given; a
  /// fraction, an exponent or more digits give up.
  bool integer(std::int64_t* out) {
    bool negative = *p_ == '-';
    if (negative) ++p_;
    const unsigned char* start = p_;
    while (digit(*p_)) ++p_;
    auto digits = p_ - start;
    if (digits == 0 || digits > 18 || (digits > 1 && *start == '0')) return false;
    if (*p_ == '.' || *p_ == 'e' || *p_ == 'E') return false;
    if (out) {
      std::int64_t v = 0;
      for (auto d = start; d != p_; ++d) v = v * 10 + (*d - '0');
      *out = negative ? -v : v;
    }
    return true;
  }

  const unsigned char* p_;
  const unsigned char* end_;
};

std::string_view body_key(openai_shape shape) {
  return shape == openai_shape::chunk ? "delta" : "message";
}

/// choices[0]: its delta's (or message's) content, finish_reason and usage (each field's
/// first occurrence).
bool read_choice(scanner& s, openai_shape shape, openai_chunk& out) {
  if (!s.next_is('{')) return s.skip(2);  // not an object: nothing in it, as `pick` finds
  bool seen_body = false, seen_finish = false, seen_usage = false;
  auto content_holder = body_key(shape);
  return s.object(2, [&](std::string_view key, bool escaped) {
    if (escaped) return false;
    if (is(key, content_holder) && !seen_body) {
      seen_body = true;
      if (!s.next_is('{')) return s.skip(3);
      bool seen_content = false, seen_calls = false;
      return s.object(3, [&](std::string_view k, bool e) {
        if (e) return false;
        if (is(k, "content") && !seen_content) {
          seen_content = true;
          return s.string_or_skip(4, out.content);
        }
        if (is(k, "tool_calls") && !seen_calls) {
          seen_calls = true;
          return s.no_tool_calls(4);  // tool calls: the DOM's
        }
        return s.skip(4);
      });
    }
    if (is(key, "finish_reason") && !seen_finish) {
      seen_finish = true;
      return s.string_or_skip(3, out.finish_reason);
    }
    if (is(key, "usage") && !seen_usage) {
      seen_usage = true;
      return s.usage_or_skip(3, out.choice_usage);
    }
    return s.skip(3);
  });
}

std::optional<chunk_usage> dom_usage(node u) {
  if (!u.is_object()) return std::nullopt;
  auto [prompt, completion, prompt_details, completion_details, cached] =
      pick<5>(u, {"prompt_tokens", "completion_tokens", "prompt_tokens_details",
                  "completion_tokens_details", "cached_tokens"});
  return chunk_usage{num(prompt), num(completion),
                     std::max(num(at(prompt_details, "cached_tokens")), num(cached)),
                     num(at(completion_details, "reasoning_tokens"))};
}

/// A delta's `tool_calls` (each piece's own index) or a message's (indexed by position).
std::vector<tool_call_delta> dom_tool_calls(node calls, openai_shape shape) {
  std::vector<tool_call_delta> out;
  int position = 0;
  each(calls, [&](node c) {
    auto [index, id, function] = pick<3>(c, {"index", "id", "function"});
    auto [name, arguments] = pick<2>(function, {"name", "arguments"});
    auto i = shape == openai_shape::chunk ? static_cast<int>(num(index)) : position;
    ++position;
    out.push_back(tool_call_delta{i, std::string{str(id)}, std::string{str(name)},
                                  std::string{str(arguments)}});
  });
  return out;
}

}  // namespace

std::optional<openai_chunk> scan_openai_chunk(const std::string& text, openai_shape shape) {
  bool chunk = shape == openai_shape::chunk;
  if (text.size() > (chunk ? max_chunk_bytes : max_completion_bytes)) return std::nullopt;
  scanner s(text);
  openai_chunk out;
  bool seen_choices = false, seen_usage = false, seen_id = false;
  bool ok = s.object(0, [&](std::string_view key, bool escaped) {
    if (escaped || is(key, "error")) return false;
    if (!chunk && is(key, "id") && !seen_id) {
      seen_id = true;
      return s.string_or_skip(1, out.id);
    }
    if (is(key, "choices") && !seen_choices) {
      seen_choices = true;
      if (!s.next_is('[')) return s.skip(1);  // not an array: no choice
      return s.array(1, [&](std::size_t i) {
        if (i > 0) return s.skip(2);
        out.has_choice = true;
        return read_choice(s, shape, out);
      });
    }
    if (is(key, "usage") && !seen_usage) {
      seen_usage = true;
      return s.usage_or_skip(1, out.usage);
    }
    return s.skip(1);
  });
  if (!ok || !s.at_end()) return std::nullopt;
  return out;
}

std::optional<openai_chunk> read_openai_chunk_dom(std::string_view text, openai_shape shape) {
  parsed_json doc(text);
  if (!doc.ok || !doc.value.is_object()) return std::nullopt;
  openai_chunk out;
  auto [error, choices, usage, id] = pick<4>(doc.value, {"error", "choices", "usage", "id"});
  if (error) {
    out.has_error = true;
    return out;
  }
  if (shape == openai_shape::completion) out.id = str(id);
  if (auto choice = first(choices)) {
    out.has_choice = true;
    auto [delta, finish, choice_usage] =
        pick<3>(choice, {body_key(shape), "finish_reason", "usage"});
    auto [content, calls] = pick<2>(delta, {"content", "tool_calls"});
    out.content = str(content);
    out.tool_calls = dom_tool_calls(calls, shape);
    out.finish_reason = str(finish);
    out.choice_usage = dom_usage(choice_usage);
  }
  out.usage = dom_usage(usage);
  return out;
}

}  // namespace nyxgate::providers::detail
