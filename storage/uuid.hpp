#pragma once

#include <string_view>

namespace nyxgate::storage {

/// True for 8-4-4-4-12 hex digits (either case), the text form PostgreSQL accepts for uuid
/// (and the one the binary COPY of usage events encodes).
bool is_uuid(std::string_view s);

}  // namespace nyxgate::storage
