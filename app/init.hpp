#pragma once

#include <optional>
#include <string>

#include "storage/database.hpp"

namespace nyxgate::app {

struct init_request {
  std::string tenant_slug;
  std::string tenant_name;
  std::string admin_email;
  std::optional<std::string> admin_name;
  std::optional<std::string> token_file;
};

enum class init_outcome { created, unchanged, conflict, failed };

struct init_result {
  init_outcome outcome = init_outcome::failed;
  std::string message;  ///< what happened, for the operator
  std::string token;    ///< set only when created and no token file was asked for
};

/// Checks the request's values; returns the first problem, naming the flag.
std::optional<std::string> validate(const init_request& req);

/// The first-install seed (SPEC §7): tenant, owner, default LLM settings and an admin token.
/// Idempotent: the same request again changes nothing; a different one for the same slug is a
/// conflict. Blocking; for the command line.
init_result run_init(storage::database& db, const init_request& req);

}  // namespace nyxgate::app
