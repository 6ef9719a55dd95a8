#pragma once
// Pieces several adapters share (providers/wire.cpp); for adapter files only.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "providers/chat.hpp"
#include "providers/detail/json_doc.hpp"

namespace nyxgate::providers::detail {

/// `base` without trailing slashes.
std::string trimmed_base(std::string_view base);

/// System and developer messages, joined: Anthropic and Google take them apart from the turns.
std::string system_text(const chat_request& req);

/// The conversation as alternating turns (is_assistant, text): consecutive messages of one
/// side are merged.
std::vector<std::pair<bool, std::string>> turns(const chat_request& req);

/// An integer in decimal, without a temporary string (answers and chunks carry several).
std::string& append_int(std::string& out, std::int64_t v);
/// A double in its shortest round-trip form.
void append_number(std::string& out, double v);

/// The OpenAI wire name of a provider-dependent field.
std::string_view param_key(chat_param p);

/// The error a stream sends inside a 2xx body (an Anthropic `event: error`, an OpenAI error
/// chunk).
failure stream_error(node doc);

}  // namespace nyxgate::providers::detail
