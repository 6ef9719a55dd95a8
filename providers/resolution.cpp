#include "providers/resolution.hpp"

#include <algorithm>

namespace nyxgate::providers {

namespace {

bool alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool newest_first(const key_index::entry& a, const key_index::entry& b) {
  return a.key->created_at != b.key->created_at ? a.key->created_at > b.key->created_at
                                                : a.key->id > b.key->id;
}

/// "openai/, anthropic/, google/ or kimi/".
std::string provider_prefixes() {
  std::string out;
  auto chat = chat_providers();
  for (std::size_t i = 0; i < chat.size(); ++i) {
    if (i > 0) out += i + 1 == chat.size() ? " or " : ", ";
    out.append(chat[i].id).append("/");
  }
  return out;
}

}  // namespace

std::string_view default_model(const llm_defaults& defaults, std::string_view provider) {
  auto it = defaults.models.find(provider);
  return it != defaults.models.end() && !it->second.empty() ? std::string_view{it->second}
                                                            : builtin_default_model(provider);
}

std::optional<std::int64_t> usable_from(const key_record& k) {
  if (k.status == key_status::active) return 0;
  if (k.status == key_status::cooldown) return k.cooldown_until;
  return std::nullopt;
}

bool usable(const key_record& k, std::int64_t now_s) {
  auto from = usable_from(k);
  return from && *from <= now_s;
}

void key_index::build(const std::vector<key_record>& keys) {
  by_provider_.assign(all_providers().size(), provider_keys{});
  for (const auto& k : keys) {
    const auto* p = find_provider(k.provider);
    if (!p) continue;
    auto from = usable_from(k);
    if (!from) continue;
    auto& slot = by_provider_[p->slot];
    (k.personal() ? slot.personal : slot.tenant).push_back(entry{&k, *from});
  }
  for (auto& slot : by_provider_) {
    std::sort(slot.personal.begin(), slot.personal.end(), [](const entry& a, const entry& b) {
      return *a.key->user_id != *b.key->user_id ? *a.key->user_id < *b.key->user_id
                                                : newest_first(a, b);
    });
    std::sort(slot.tenant.begin(), slot.tenant.end(), newest_first);
  }
}

key_index::range key_index::personal_of(const provider_keys& keys, std::string_view user) {
  struct by_user {
    bool operator()(const entry& e, std::string_view u) const { return *e.key->user_id < u; }
    bool operator()(std::string_view u, const entry& e) const { return u < *e.key->user_id; }
  };
  return std::equal_range(keys.personal.begin(), keys.personal.end(), user, by_user{});
}

const key_record* key_index::first_usable(std::size_t provider, std::string_view user,
                                          std::int64_t now_s) const {
  const key_record* out = nullptr;
  each_usable(provider, user, now_s, [&out](const key_record& k) {
    out = &k;
    return false;
  });
  return out;
}

chain build_chain(const key_index& index, const llm_defaults& defaults, const chain_query& q,
                  std::int64_t now_s) {
  chain out;
  auto add = [&](const provider_info& p, std::string_view model, bool fallback) {
    index.each_usable(p.slot, q.user_id, now_s, [&](const key_record& k) {
      if (out.elements.size() >= q.limit) return false;
      if (out.elements.empty()) out.elements.reserve(std::min<std::size_t>(q.limit, 4));
      out.elements.push_back(chain_element{std::string{p.id}, std::string{model}, &k, fallback});
      return true;
    });
  };
  if (!q.provider.empty()) {
    if (const auto* p = find_provider(q.provider)) add(*p, default_model(defaults, p->id), false);
    return out;
  }
  if (q.model.empty() || q.model == "auto" || q.model == "default") {
    if (const auto* primary = find_provider(defaults.primary); primary && primary->has_chat())
      add(*primary, default_model(defaults, primary->id), false);
    if (defaults.fallback && *defaults.fallback != defaults.primary)
      if (const auto* fallback = find_provider(*defaults.fallback);
          fallback && fallback->has_chat())
        add(*fallback, default_model(defaults, fallback->id), true);
    return out;
  }
  const provider_info* provider = nullptr;
  std::string_view name = q.model;
  if (auto slash = q.model.find('/'); slash != std::string_view::npos) {
    provider = find_provider(q.model.substr(0, slash));
    name = q.model.substr(slash + 1);
    if (!provider || !provider->has_chat() || name.empty()) {
      out.error =
          chain_error{"unknown_provider", "unknown provider in model '" + std::string{q.model} +
                                              "'; use " + provider_prefixes()};
      return out;
    }
  } else {
    provider = provider_for_model(q.model);
    if (!provider) {
      out.error = chain_error{"unknown_model", "unknown model '" + std::string{q.model} +
                                                   "': name it as provider/model, e.g. openai/" +
                                                   std::string{q.model}};
      return out;
    }
  }
  add(*provider, name, false);
  return out;
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

}  // namespace nyxgate::providers
