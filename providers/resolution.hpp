#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "providers/key_status.hpp"
#include "providers/registry.hpp"

/// Resolution (SPEC §3) as pure functions over a tenant's key index: which provider, model and
/// key serve a call. The tenant actor owns the data and builds the index once per snapshot;
/// completions, providers.resolve and /v1/models all walk it through `build_chain`.
namespace nyxgate::providers {

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
  std::map<std::string, std::string, std::less<>> models;  ///< provider -> default model
  std::int64_t max_tokens = 16384;
  std::string ethics;
};

/// The model `provider` gets when the tenant named none: the tenant's default, else the
/// registry's.
std::string_view default_model(const llm_defaults& defaults, std::string_view provider);

/// When a key may serve: 0 for an active key, the end of its cooldown for a key in cooldown,
/// nullopt for one that never may (invalid, revoked).
std::optional<std::int64_t> usable_from(const key_record& k);
/// active, or cooldown whose time has passed.
bool usable(const key_record& k, std::int64_t now_s);

/// A tenant's candidate keys per provider in SPEC §3 order, built once per snapshot: per
/// provider the personal keys grouped by user, then the tenant keys, each newest first.
/// Keys that can never be used (invalid, revoked) are left out; a cooldown key stays with the
/// time it ends, so a lookup is a scan of one provider's keys with an integer test each.
class key_index {
 public:
  struct entry {
    const key_record* key = nullptr;
    std::int64_t usable_from = 0;  ///< unix seconds; 0: active
  };

  /// Points into `keys`, which must outlive the index and stay unchanged.
  void build(const std::vector<key_record>& keys);

  /// Calls `fn(key)` for the user's usable personal keys of `provider` (slot in the
  /// registry), then the tenant's usable tenant keys, in chain order, until it returns false.
  /// `user` empty: no user.
  template <class Fn>
  void each_usable(std::size_t provider, std::string_view user, std::int64_t now_s, Fn&& fn) const {
    if (provider >= by_provider_.size()) return;
    const auto& keys = by_provider_[provider];
    if (!user.empty())
      for (auto [it, end] = personal_of(keys, user); it != end; ++it)
        if (it->usable_from <= now_s && !fn(*it->key)) return;
    for (const auto& e : keys.tenant)
      if (e.usable_from <= now_s && !fn(*e.key)) return;
  }

  /// The first key `each_usable` would give, or nullptr.
  const key_record* first_usable(std::size_t provider, std::string_view user,
                                 std::int64_t now_s) const;

 private:
  struct provider_keys {
    std::vector<entry> personal;  ///< by user id, then newest first
    std::vector<entry> tenant;    ///< newest first
  };
  using range = std::pair<std::vector<entry>::const_iterator, std::vector<entry>::const_iterator>;
  static range personal_of(const provider_keys& keys, std::string_view user);

  std::vector<provider_keys> by_provider_;  ///< by registry slot
};

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

/// What a call or a resolution asks for.
struct chain_query {
  std::string_view user_id;  ///< "" for none
  /// A provider named on its own (providers.resolve): its keys with its default model, no
  /// fallback; `model` is then not read.
  std::string_view provider;
  /// "auto", "default", "" (primary, then fallback), "provider/model", or a bare model known by
  /// its prefix.
  std::string_view model;
  /// At most this many elements: providers.resolve and /v1/models need only the first.
  std::size_t limit = std::numeric_limits<std::size_t>::max();
};

/// The attempts for `q`, from the index alone: no scan of the tenant's other keys, no sort.
chain build_chain(const key_index& index, const llm_defaults& defaults, const chain_query& q,
                  std::int64_t now_s);

/// A model name a client or an admin may give: at most 128 characters, an optional
/// `provider/` prefix, then letters, digits, '.', '_', ':' and '-', each part starting with a
/// letter or digit. Model names become part of upstream URLs (Google's path), so nothing else
/// gets through.
bool valid_model_name(std::string_view model);

}  // namespace nyxgate::providers
