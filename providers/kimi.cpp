// Kimi (Moonshot): OpenAI's chat API with its own field support.
#include "providers/detail/openai_compatible.hpp"

namespace nyxgate::providers {

namespace {

param_handling kimi_handling(chat_param p) {
  switch (p) {
    case chat_param::frequency_penalty:
    case chat_param::presence_penalty:
    case chat_param::user:
    case chat_param::message_name:
    case chat_param::response_format:
    case chat_param::tools:
    case chat_param::tool_choice:
    case chat_param::parallel_tool_calls:
    case chat_param::image_part:
    case chat_param::tool_message:
    case chat_param::other:
      return param_handling::forwarded;
    default:
      return param_handling::refused;
  }
}

}  // namespace

const provider_adapter& kimi_adapter() {
  // Kimi knows no "developer" role and no max_completion_tokens.
  static const detail::openai_compatible adapter{{"kimi", "max_tokens", true, &kimi_handling}};
  return adapter;
}

}  // namespace nyxgate::providers
