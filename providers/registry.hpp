#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

/// The one list of providers nyxgate knows: what each is called, which models it serves, and
/// the adapters that speak its API (docs/providers.md). Everything else asks here.
namespace nyxgate::providers {

class chat_adapter;
class key_prober;

struct provider_info {
  std::string_view id;  ///< in model prefixes ("openai/gpt-4o"), keys, config and headers
  std::string_view display_name;
  /// Bare model names it serves ("gpt-4o" → openai); empty for a provider without chat.
  std::span<const std::string_view> model_prefixes;
  std::string_view default_model;      ///< when the tenant named none; empty without chat
  const chat_adapter* chat = nullptr;  ///< nullptr: keys only (GitHub, a connector)
  const key_prober* probe = nullptr;   ///< apiKeys.test: the cheapest authenticated call
  std::size_t slot = 0;                ///< its position in `all_providers()`

  bool has_chat() const { return chat != nullptr; }
};

/// Every provider, chat providers first; slots are positions in this span.
std::span<const provider_info> all_providers();
/// The providers a chat call can go to: a prefix of `all_providers()`.
std::span<const provider_info> chat_providers();

/// The provider called `id`, or nullptr.
const provider_info* find_provider(std::string_view id);

/// Providers a chat call can go to; `github` is a connector with keys but no chat.
bool is_chat_provider(std::string_view id);
bool is_key_provider(std::string_view id);  ///< chat providers plus connectors

/// The model a provider gets when the tenant named none ("" for an unknown provider).
std::string_view builtin_default_model(std::string_view provider);

/// The chat adapter of `provider`. An id without chat gets OpenAI's: the OpenAI-compatible API
/// is the common ground (callers only pass ids of chat providers).
const chat_adapter& chat_of(std::string_view provider);

/// The provider a bare model name belongs to, by prefix; nullptr when unknown.
const provider_info* provider_for_model(std::string_view model);

/// The ids, for input validation: every provider's, and the chat providers' (a prefix).
std::span<const std::string_view> key_provider_ids();
std::span<const std::string_view> chat_provider_ids();

/// "openai, anthropic, google, kimi": the chat providers' ids, for messages.
const std::string& chat_provider_list();

}  // namespace nyxgate::providers
