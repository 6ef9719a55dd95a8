#pragma once

// Fields the chat and the embeddings request share, read the same way by both parsers
// (providers/chat_request.cpp).
#include <optional>
#include <string>

#include "providers/chat.hpp"
#include "providers/detail/json_doc.hpp"

namespace nyxgate::providers::detail {

/// `model`: absent or null leaves `out` empty; else a string that is a `valid_model_name`
/// ("" too, which asks for the default).
std::optional<request_error> read_model(node v, std::string& out);

/// The 400 for a field OpenAI's reference does not list.
request_error unknown_parameter(std::string where);

}  // namespace nyxgate::providers::detail
