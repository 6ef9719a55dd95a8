#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "providers/key_status.hpp"

/// Resolution (SPEC §3) as pure functions over a tenant's key set: which provider, model and
/// key serve a call. The tenant actor owns the data and calls these; tests call them directly.
namespace nyxgate::providers {

/// Providers a chat call can go to; `github` is a connector with keys but no chat.
bool is_chat_provider(std::string_view p);
bool is_key_provider(std::string_view p);  ///< chat providers plus github

struct key_record {
  std::string id;
  std::string provider;
  std::optional<std::string> user_id;  ///< set: personal key of that user
  std::string name;
  std::string hint;
  key_status status = key_status::active;
  std::string status_reason;
  std::int64_t cooldown_until = 0;  ///< unix seconds; 0: none
  std::int64_t created_at = 0;      ///< unix microseconds, orders "newest first"
  std::string created_at_text;      ///< ISO 8601, for replies
  std::string secret;               ///< decrypted, in memory only

  bool personal() const { return user_id.has_value(); }
};

struct llm_defaults {
  std::string primary = "openai";
  std::optional<std::string> fallback;
  std::map<std::string, std::string> models;  ///< provider -> default model
  std::int64_t max_tokens = 16384;
  std::string ethics;
};

/// The model a provider gets when the tenant named none.
std::string builtin_default_model(std::string_view provider);

/// active, or cooldown whose time has passed.
bool usable(const key_record& k, std::int64_t now_s);

/// The user's usable personal keys for the provider (newest first), then the tenant's usable
/// tenant keys (newest first). Another user's personal key is never a candidate.
std::vector<const key_record*> keys_for(const std::vector<key_record>& keys,
                                        const std::optional<std::string>& user_id,
                                        std::string_view provider, std::int64_t now_s);

struct chain_element {
  std::string provider;
  std::string model;
  const key_record* key = nullptr;
  bool via_fallback = false;
  std::string_view scope() const { return key && key->personal() ? "personal" : "tenant"; }
};

struct chain_error {
  std::string code;  ///< unknown_model | unknown_provider
  std::string message;
};

struct chain {
  std::vector<chain_element> elements;
  std::optional<chain_error> error;
};

/// The attempts for a call asking for `model` ("auto", "default", "", "provider/model", or a
/// bare model known by its prefix).
chain build_chain(const std::vector<key_record>& keys, const llm_defaults& defaults,
                  const std::optional<std::string>& user_id, std::string_view model,
                  std::int64_t now_s);

/// A model name a client or an admin may give: at most 128 characters, an optional
/// `provider/` prefix, then letters, digits, '.', '_', ':' and '-', each part starting with a
/// letter or digit. Model names become part of upstream URLs (Google's path), so nothing else
/// gets through.
bool valid_model_name(std::string_view model);

/// The provider a bare model name belongs to, by prefix; empty when unknown.
std::string provider_for_model(std::string_view model);

}  // namespace nyxgate::providers
