#include "providers/registry.hpp"

#include <array>

#include "providers/adapter.hpp"

namespace nyxgate::providers {

namespace {

using namespace std::string_view_literals;

constexpr std::array openai_prefixes{"gpt-"sv, "o1"sv, "o3"sv, "o4"sv, "text-embedding-"sv};
constexpr std::array anthropic_prefixes{"claude-"sv};
constexpr std::array google_prefixes{"gemini-"sv};
constexpr std::array kimi_prefixes{"moonshot-"sv, "kimi-"sv};

/// The registry: one entry per provider, chat providers first (a chain's `auto` order does
/// not depend on it; the tenant's defaults decide).
struct registry {
  std::array<provider_info, 5> entries{{
      {"openai", "OpenAI", openai_prefixes, "gpt-4o-mini", &openai_adapter(), &openai_adapter()},
      {"anthropic", "Anthropic", anthropic_prefixes, "claude-sonnet-4-5", &anthropic_adapter(),
       &anthropic_adapter()},
      {"google", "Google Gemini", google_prefixes, "gemini-2.5-flash", &google_adapter(),
       &google_adapter()},
      {"kimi", "Kimi (Moonshot)", kimi_prefixes, "kimi-k2-0905-preview", &kimi_adapter(),
       &kimi_adapter()},
      {"github", "GitHub", {}, {}, nullptr, &github_prober()},
  }};
  std::array<std::string_view, std::tuple_size_v<decltype(entries)>> ids;
  std::size_t chat_count = 0;
  std::string chat_list;

  registry() {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      entries[i].slot = i;
      ids[i] = entries[i].id;
      if (!entries[i].has_chat()) continue;
      chat_count = i + 1;
      if (!chat_list.empty()) chat_list += ", ";
      chat_list += entries[i].id;
    }
  }
};

const registry& the_registry() {
  static const registry r;
  return r;
}

}  // namespace

std::span<const provider_info> all_providers() {
  return the_registry().entries;
}

std::span<const provider_info> chat_providers() {
  return all_providers().first(the_registry().chat_count);
}

const provider_info* find_provider(std::string_view id) {
  for (const auto& p : all_providers())
    if (p.id == id) return &p;
  return nullptr;
}

bool is_chat_provider(std::string_view id) {
  const auto* p = find_provider(id);
  return p && p->has_chat();
}

bool is_key_provider(std::string_view id) {
  return find_provider(id) != nullptr;
}

std::string_view builtin_default_model(std::string_view provider) {
  const auto* p = find_provider(provider);
  return p ? p->default_model : std::string_view{};
}

const chat_adapter& chat_of(std::string_view provider) {
  const auto* p = find_provider(provider);
  return p && p->chat ? *p->chat : openai_adapter();
}

const provider_info* provider_for_model(std::string_view model) {
  for (const auto& p : chat_providers())
    for (auto prefix : p.model_prefixes)
      if (model.starts_with(prefix)) return &p;
  return nullptr;
}

std::span<const std::string_view> key_provider_ids() {
  return the_registry().ids;
}

std::span<const std::string_view> chat_provider_ids() {
  return key_provider_ids().first(the_registry().chat_count);
}

const std::string& chat_provider_list() {
  return the_registry().chat_list;
}

}  // namespace nyxgate::providers
