#pragma once

#include <span>
#include <string_view>

#include "storage/database.hpp"

namespace nyxgate::storage {

struct migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

/// Every migration compiled into this binary, in version order.
std::span<const migration> migrations();
int latest_schema_version();

/// The batch that applies every missing migration in one transaction under an advisory lock;
/// running it again changes nothing. Its last result holds the schema version afterwards.
db_batch migrate_batch();

/// Query answering the applied schema version (0 on an empty database).
statement schema_version_query();

/// The version a schema_version_query (or migrate_batch's last statement) returned; -1 for
/// none.
int schema_version_of(const db_result& r);

}  // namespace nyxgate::storage
