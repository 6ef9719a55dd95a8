#include "storage/uuid.hpp"

#include <array>
#include <cstddef>

namespace nyxgate::storage {

bool is_uuid(std::string_view s) {
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return false;
  static constexpr auto hex = [] {
    std::array<bool, 256> t{};
    for (char c : std::string_view{"0123456789abcdefABCDEF"})
      t[static_cast<unsigned char>(c)] = true;
    return t;
  }();
  auto hex_run = [&](std::size_t from, std::size_t to) {
    bool ok = true;
    for (std::size_t i = from; i < to; ++i) ok &= hex[static_cast<unsigned char>(s[i])];
    return ok;
  };
  return hex_run(0, 8) & hex_run(9, 13) & hex_run(14, 18) & hex_run(19, 23) & hex_run(24, 36);
}

}  // namespace nyxgate::storage
