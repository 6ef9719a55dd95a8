#include "providers/key_status.hpp"

#include <array>
#include <ostream>

namespace nyxgate::providers {

namespace {
constexpr std::array<std::string_view, 4> names{"active", "cooldown", "invalid", "revoked"};
}  // namespace

std::string_view to_string(key_status s) {
  return names[static_cast<std::size_t>(s)];
}

std::optional<key_status> parse_key_status(std::string_view text) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == text) return static_cast<key_status>(i);
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& os, key_status s) {
  return os << to_string(s);
}

}  // namespace nyxgate::providers
