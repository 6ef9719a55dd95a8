#pragma once

#include <string>

#include "storage/database.hpp"

namespace nyxgate::app {

struct rotation_result {
  bool ok = false;
  int new_version = 0;
  std::size_t resealed = 0;
  std::string message;
};

/// Master key rotation while servers keep serving: add a fresh key version to the key file,
/// tell the servers (they reload the file and seal new secrets with it), re-seal every row
/// still under an older version in small batches, then retire the old versions from the file
/// and tell the servers again.
rotation_result rotate_master_key(storage::database& db, const std::string& key_file);

}  // namespace nyxgate::app
