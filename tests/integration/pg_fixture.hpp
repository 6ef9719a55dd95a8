#pragma once

#include <string>
#include <vector>

#include "storage/embedded_postgres.hpp"

namespace nyxgate::testing {

/// One PostgreSQL cluster for the whole integration test run: started on first call in a
/// temp_dir() with fast_unsafe, stopped and deleted at the end of the run. Thread-safe.
storage::embedded_postgres& pg_cluster();

/// Creates a new empty database with a unique name on pg_cluster(); returns its conninfo.
std::string fresh_database();

/// Runs `query` with blocking libpq (test helper only); throws std::runtime_error on failure.
/// Returns the last statement's rows as text, NULL as "".
std::vector<std::vector<std::string>> sql(const std::string& conninfo, const std::string& query);

/// A fresh directory under /tmp, removed at the end of the run. Mode 0755 (not mkdtemp's 0700)
/// so that a cluster inside it can run as `postgres` when the tests run as root.
std::string temp_dir();

}  // namespace nyxgate::testing
