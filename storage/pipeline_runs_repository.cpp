#include "storage/pipeline_runs_repository.hpp"

#include "storage/channels.hpp"
#include "storage/detail/cells.hpp"

namespace nyxgate::storage::pipeline_runs_repository {

using detail::int_cell;
using detail::iso_time;

namespace {

/// The run's columns and its counts, from run `r` and the counts row `c`.
std::string run_columns() {
  return "r.id, r.project_id, r.kind, r.status, " + iso_time("r.created_at") + ", " +
         iso_time("r.updated_at") + ", " + iso_time("r.finished_at") + ", " +
         created_us_column("r") +
         ", c.pending, c.running, c.truncated, c.done, c.failed, c.cancelled";
}

/// The counts row over the items in `items` (a table or a CTE) whose status column is
/// `status`.
std::string counts_over(std::string_view items) {
  std::string out = "(SELECT ";
  const char* statuses[] = {"pending", "running", "truncated", "done", "failed", "cancelled"};
  for (const char* s : statuses) {
    if (out.size() > 8) out += ", ";
    out += "count(*) FILTER (WHERE i.status = '" + std::string{s} + "') AS " + s;
  }
  return out + " FROM " + std::string{items} + ")";
}

/// Runs with their counts, from the runs matching `where` (conditions on `r`).
std::string select_runs(std::string_view where) {
  return "SELECT " + run_columns() + " FROM pipeline_runs r CROSS JOIN LATERAL " +
         counts_over("pipeline_items i WHERE i.tenant_id = r.tenant_id AND i.run_id = r.id") +
         " c WHERE " + std::string{where};
}

/// Notifies `channel` with the run id, when the tenant holds that run (sent at commit).
statement notify_run(std::string_view channel, std::string_view tenant_id, std::string_view id,
                     std::string_view condition = "true") {
  statement st{
      "SELECT pg_notify($1, r.id::text) FROM pipeline_runs r "
      "WHERE r.tenant_id = $2 AND r.id = $3 AND " +
      std::string{condition}};
  st.bind(channel).bind(tenant_id).bind(id);
  return st;
}

}  // namespace

std::vector<run_row> run_rows(const db_result& r) {
  std::vector<run_row> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i) {
    run_row row{r.at(i, 0), r.at(i, 1),  r.at(i, 2),        r.at(i, 3),   r.at(i, 4),
                r.at(i, 5), r.get(i, 6), int_cell(r, i, 7), item_counts{}};
    row.counts = {int_cell(r, i, 8),  int_cell(r, i, 9),  int_cell(r, i, 10),
                  int_cell(r, i, 11), int_cell(r, i, 12), int_cell(r, i, 13)};
    out.push_back(std::move(row));
  }
  return out;
}

statement run_setting(std::string_view tenant_id, std::string_view project_id,
                      std::string_view kind) {
  statement st{
      "SELECT p.name, coalesce((SELECT d.ethics FROM llm_defaults d "
      "WHERE d.tenant_id = p.tenant_id), ''), "
      "(SELECT t.body FROM prompt_templates t WHERE t.tenant_id = p.tenant_id AND t.kind = $3) "
      "FROM projects p WHERE p.tenant_id = $1 AND p.id = $2"};
  st.bind(tenant_id).bind(project_id).bind(kind);
  return st;
}

std::optional<setting_row> setting_of(const db_result& r) {
  if (r.empty()) return std::nullopt;
  return setting_row{r.at(0, 0), r.at(0, 1), r.get(0, 2)};
}

statement create_run(const new_run& n) {
  statement st{
      "WITH r AS (INSERT INTO pipeline_runs (tenant_id, project_id, kind, input, created_by) "
      "SELECT p.tenant_id, p.id, $3, $4::jsonb, $5 FROM projects p "
      "WHERE p.tenant_id = $1 AND p.id = $2 RETURNING *), "
      "i AS (INSERT INTO pipeline_items (tenant_id, run_id, position, input) "
      "SELECT r.tenant_id, r.id, (x.n - 1)::integer, x.item FROM r, "
      "jsonb_array_elements($6::jsonb) WITH ORDINALITY AS x(item, n) RETURNING status) "
      "SELECT " +
      run_columns() + ", pg_notify($7, r.id::text) FROM r CROSS JOIN " + counts_over("i") + " c"};
  st.bind(n.tenant_id).bind(n.project_id).bind(n.kind).bind(n.context).bind(n.created_by);
  st.bind(n.items).bind(pipeline_wake_channel);
  return st;
}

statement find_run(std::string_view tenant_id, std::string_view id) {
  statement st{select_runs("r.tenant_id = $1 AND r.id = $2")};
  st.bind(tenant_id).bind(id);
  return st;
}

statement list_runs(std::string_view tenant_id, const std::optional<std::string>& project_id,
                    const page_request& page) {
  statement st;
  st.bind(tenant_id).bind(project_id);
  st.sql = select_runs("r.tenant_id = $1 AND ($2::uuid IS NULL OR r.project_id = $2::uuid)");
  st.sql += page_clause(st, page, "r");
  return st;
}

db_batch rerun(std::string_view tenant_id, std::string_view id) {
  db_batch b;
  b.transaction = true;
  // The run goes back to running only when some item will run again.
  statement again{
      "WITH u AS (UPDATE pipeline_items i SET status = 'pending', owner = NULL, "
      "lease_until = NULL, partial = NULL, error = NULL, updated_at = clock_timestamp() "
      "WHERE i.tenant_id = $1 AND i.run_id = $2 "
      "AND i.status IN ('pending', 'failed', 'truncated') RETURNING 1) "
      "UPDATE pipeline_runs r SET status = 'running', finished_at = NULL, "
      "updated_at = clock_timestamp() "
      "WHERE r.tenant_id = $1 AND r.id = $2 AND EXISTS (SELECT 1 FROM u)"};
  again.bind(tenant_id).bind(id);
  b.statements.push_back(std::move(again));
  b.statements.push_back(notify_run(pipeline_wake_channel, tenant_id, id, "r.status = 'running'"));
  b.statements.push_back(notify_run(pipeline_progress_channel, tenant_id, id));
  b.statements.push_back(find_run(tenant_id, id));
  return b;
}

db_batch cancel(std::string_view tenant_id, std::string_view id) {
  db_batch b;
  b.transaction = true;
  statement run{
      "UPDATE pipeline_runs r SET status = 'cancelled', finished_at = clock_timestamp(), "
      "updated_at = clock_timestamp() WHERE r.tenant_id = $1 AND r.id = $2 "
      "AND r.status = 'running'"};
  run.bind(tenant_id).bind(id);
  b.statements.push_back(std::move(run));
  statement items{
      "UPDATE pipeline_items i SET status = 'cancelled', owner = NULL, lease_until = NULL, "
      "updated_at = clock_timestamp() WHERE i.tenant_id = $1 AND i.run_id = $2 "
      "AND i.status IN ('pending', 'running', 'truncated') AND EXISTS (SELECT 1 FROM "
      "pipeline_runs r WHERE r.tenant_id = $1 AND r.id = $2 AND r.status = 'cancelled')"};
  items.bind(tenant_id).bind(id);
  b.statements.push_back(std::move(items));
  b.statements.push_back(
      notify_run(pipeline_cancel_channel, tenant_id, id, "r.status = 'cancelled'"));
  b.statements.push_back(notify_run(pipeline_progress_channel, tenant_id, id));
  b.statements.push_back(find_run(tenant_id, id));
  return b;
}

}  // namespace nyxgate::storage::pipeline_runs_repository
