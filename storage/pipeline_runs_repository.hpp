#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db_types.hpp"
#include "storage/page.hpp"

/// SQL of workflow runs as the procedures see them (docs/workflows.md, "Procedures"): create a
/// run with its items, read it with its counts per item status, list, rerun, cancel. Every
/// statement is scoped by the caller's tenant id, so another tenant's run id finds nothing,
/// exactly as a missing one. The engine's claims and completions live in
/// pipeline_queue_repository.
namespace nyxgate::storage::pipeline_runs_repository {

/// Items per status.
struct item_counts {
  std::int64_t pending = 0;
  std::int64_t running = 0;
  std::int64_t truncated = 0;
  std::int64_t done = 0;
  std::int64_t failed = 0;
  std::int64_t cancelled = 0;
};

/// Times are ISO 8601 UTC text; `created_us` is `created_at` in microseconds, for pages.
struct run_row {
  std::string id;
  std::string project_id;
  std::string kind;
  std::string status;  ///< running | done | failed | cancelled
  std::string created_at;
  std::string updated_at;
  std::optional<std::string> finished_at;
  std::int64_t created_us = 0;
  item_counts counts;
};
std::vector<run_row> run_rows(const db_result& r);

/// What a new run starts from: the project's name, the tenant's ethics text and its template
/// override for the kind. Rows: one (project_name, ethics, template override or null); none:
/// no such project in this tenant.
statement run_setting(std::string_view tenant_id, std::string_view project_id,
                      std::string_view kind);
struct setting_row {
  std::string project_name;
  std::string ethics;
  std::optional<std::string> template_override;
};
std::optional<setting_row> setting_of(const db_result& r);

struct new_run {
  std::string tenant_id;
  std::string project_id;
  std::string created_by;
  std::string kind;
  std::string context;  ///< JSON object: the run context
  std::string items;    ///< JSON array: each item's input, in order
};
/// Inserts the run and its items in one statement, only when the project is the tenant's, and
/// wakes the engines when it commits. Rows: run_rows (none: no such project).
statement create_run(const new_run& r);

/// Rows: run_rows (none: no such run in this tenant).
statement find_run(std::string_view tenant_id, std::string_view id);

/// Rows: run_rows, newest first, at most `page.limit + 1`; of one project when given.
statement list_runs(std::string_view tenant_id, const std::optional<std::string>& project_id,
                    const page_request& page);

/// Puts the run's pending, failed and truncated items back to pending (their attempts kept)
/// and the run to running, then wakes the engines and the progress subscribers. Rows of the
/// last statement: run_rows (none: no such run).
db_batch rerun(std::string_view tenant_id, std::string_view id);

/// Marks the run cancelled and its unfinished items cancelled, then tells every node to stop
/// the run's calls and the subscribers that it changed. A finished run stays as it is. Rows of
/// the last statement: run_rows (none: no such run).
db_batch cancel(std::string_view tenant_id, std::string_view id);

}  // namespace nyxgate::storage::pipeline_runs_repository
