#include "providers/resolution.hpp"

#include <algorithm>
#include <array>

namespace nyxgate::providers {

namespace {
constexpr std::array<std::string_view, 4> chat_providers{"openai", "anthropic", "google", "kimi"};

bool alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
}  // namespace

bool is_chat_provider(std::string_view p) {
  return std::find(chat_providers.begin(), chat_providers.end(), p) != chat_providers.end();
}

bool is_key_provider(std::string_view p) {
  return is_chat_provider(p) || p == "github";
}

std::string builtin_default_model(std::string_view provider) {
  if (provider == "openai") return "gpt-4o-mini";
  if (provider == "anthropic") return "claude-sonnet-4-5";
  if (provider == "google") return "gemini-2.5-flash";
  if (provider == "kimi") return "kimi-k2-0905-preview";
  return {};
}

bool usable(const key_record& k, std::int64_t now_s) {
  if (k.status == key_status::active) return true;
  return k.status == key_status::cooldown && k.cooldown_until <= now_s;
}

std::vector<const key_record*> keys_for(const std::vector<key_record>& keys,
                                        const std::optional<std::string>& user_id,
                                        std::string_view provider, std::int64_t now_s) {
  std::vector<const key_record*> personal, tenant;
  for (const auto& k : keys) {
    if (k.provider != provider || !usable(k, now_s)) continue;
    if (k.personal()) {
      if (user_id && *k.user_id == *user_id) personal.push_back(&k);
    } else {
      tenant.push_back(&k);
    }
  }
  auto newest_first = [](const key_record* a, const key_record* b) {
    return a->created_at != b->created_at ? a->created_at > b->created_at : a->id > b->id;
  };
  std::sort(personal.begin(), personal.end(), newest_first);
  std::sort(tenant.begin(), tenant.end(), newest_first);
  personal.insert(personal.end(), tenant.begin(), tenant.end());
  return personal;
}

bool valid_model_name(std::string_view model) {
  if (model.empty() || model.size() > 128) return false;
  auto valid_part = [](std::string_view part) {
    if (part.empty() || !alnum(part[0])) return false;
    return std::all_of(part.begin(), part.end(), [](char c) {
      return alnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
    });
  };
  auto slash = model.find('/');
  if (slash == std::string_view::npos) return valid_part(model);
  return valid_part(model.substr(0, slash)) && valid_part(model.substr(slash + 1));
}

std::string provider_for_model(std::string_view m) {
  if (m.starts_with("gpt-") || m.starts_with("o1") || m.starts_with("o3") || m.starts_with("o4"))
    return "openai";
  if (m.starts_with("claude-")) return "anthropic";
  if (m.starts_with("gemini-")) return "google";
  if (m.starts_with("moonshot-") || m.starts_with("kimi-")) return "kimi";
  return {};
}

chain build_chain(const std::vector<key_record>& keys, const llm_defaults& defaults,
                  const std::optional<std::string>& user_id, std::string_view model,
                  std::int64_t now_s) {
  chain out;
  auto add = [&](const std::string& provider, const std::string& m, bool fallback) {
    for (const auto* k : keys_for(keys, user_id, provider, now_s))
      out.elements.push_back(chain_element{provider, m, k, fallback});
  };
  auto default_model = [&](const std::string& provider) {
    auto it = defaults.models.find(provider);
    return it != defaults.models.end() && !it->second.empty() ? it->second
                                                              : builtin_default_model(provider);
  };
  if (model.empty() || model == "auto" || model == "default") {
    add(defaults.primary, default_model(defaults.primary), false);
    if (defaults.fallback && *defaults.fallback != defaults.primary)
      add(*defaults.fallback, default_model(*defaults.fallback), true);
    return out;
  }
  std::string provider;
  std::string name{model};
  if (auto slash = model.find('/'); slash != std::string_view::npos) {
    provider = std::string{model.substr(0, slash)};
    name = std::string{model.substr(slash + 1)};
    if (!is_chat_provider(provider) || name.empty()) {
      out.error =
          chain_error{"unknown_provider", "unknown provider in model '" + std::string{model} +
                                              "'; use openai/, anthropic/, google/ or kimi/"};
      return out;
    }
  } else {
    provider = provider_for_model(model);
    if (provider.empty()) {
      out.error = chain_error{"unknown_model", "unknown model '" + std::string{model} +
                                                   "': name it as provider/model, e.g. openai/" +
                                                   std::string{model}};
      return out;
    }
  }
  add(provider, name, false);
  return out;
}

}  // namespace nyxgate::providers
