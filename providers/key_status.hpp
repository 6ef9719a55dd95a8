#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string_view>

namespace nyxgate::providers {

/// A provider key's health (SPEC §2): usable when `active`, or `cooldown` whose time has
/// passed. `revoked` is final: no probe, call or replacement brings a revoked key back.
enum class key_status : std::uint8_t {
  active,
  cooldown,
  invalid,
  revoked,
};

/// The one spelling of each status: the `api_keys.status` column and the tRPC replies.
std::string_view to_string(key_status s);
std::optional<key_status> parse_key_status(std::string_view text);
std::ostream& operator<<(std::ostream& os, key_status s);

}  // namespace nyxgate::providers
