#include "storage/pipeline_queue_repository.hpp"

#include "storage/channels.hpp"
#include "storage/detail/cells.hpp"

namespace nyxgate::storage::pipeline_queue_repository {

using detail::int_cell;

namespace {

/// Serialises claims over all nodes (an arbitrary constant naming the queue).
constexpr std::string_view claim_lock_key = "7046921";

/// Candidates looked at per claim beyond what is taken, so that runs and tenants at their bound
/// do not hide claimable items of others.
constexpr std::int64_t candidate_factor = 8;

/// Locks the item and fails the batch (division by zero, `lease_lost_sqlstate`) unless `owner`
/// still holds it.
statement lease_check(const held_item& item) {
  statement st{
      "SELECT 1 / count(*) FROM (SELECT 1 FROM pipeline_items WHERE tenant_id = $1 AND "
      "run_id = $2 AND id = $3 AND owner = $4 AND status = 'running' FOR UPDATE) held"};
  st.bind(item.tenant_id).bind(item.run_id).bind(item.id).bind(item.owner);
  return st;
}

/// Locks the run, then marks it done (or failed, when an item failed) if no item is left;
/// notifies progress. The lock makes the last two items' transactions see each other.
void finish_tail(db_batch& b, std::string_view tenant_id, std::string_view run_id) {
  statement lock{"SELECT 1 FROM pipeline_runs WHERE tenant_id = $1 AND id = $2 FOR UPDATE"};
  lock.bind(tenant_id).bind(run_id);
  b.statements.push_back(std::move(lock));
  statement finish{
      "UPDATE pipeline_runs r SET status = CASE WHEN EXISTS (SELECT 1 FROM pipeline_items i "
      "WHERE i.tenant_id = r.tenant_id AND i.run_id = r.id AND i.status = 'failed') THEN "
      "'failed' ELSE 'done' END, finished_at = clock_timestamp(), updated_at = "
      "clock_timestamp() WHERE r.tenant_id = $1 AND r.id = $2 AND r.status = 'running' AND NOT "
      "EXISTS (SELECT 1 FROM pipeline_items i WHERE i.tenant_id = $1 AND i.run_id = $2 AND "
      "i.status IN ('pending', 'running', 'truncated'))"};
  finish.bind(tenant_id).bind(run_id);
  b.statements.push_back(std::move(finish));
  b.statements.push_back(notify(pipeline_progress_channel, run_id));
}

/// The id of the product row this transaction wrote (its xmin is the transaction's own id) in
/// the project of parameter `project`; the tenant is $1.
std::string written_row(product_table table, std::string_view project) {
  return std::string{"SELECT w.id FROM "} + (table == product_table::post ? "blog_posts" : "docs") +
         " w WHERE w.tenant_id = $1 AND w.project_id = " + std::string{project} +
         "::uuid AND w.xmin::text = (pg_current_xact_id()::text::bigint % 4294967296)::text";
}

statement set_served(statement st, const served& by) {
  st.bind(by.provider.empty() ? std::optional<std::string>{} : by.provider)
      .bind(by.key_scope.empty() ? std::optional<std::string>{} : by.key_scope)
      .bind(by.provider.empty() ? std::optional<std::string>{}
                                : std::string{by.fallback ? "true" : "false"});
  return st;
}

}  // namespace

db_batch claim(std::string_view owner, const claim_limits& limits) {
  db_batch b;
  b.transaction = true;
  b.statements.emplace_back("SELECT pg_advisory_xact_lock(" + std::string{claim_lock_key} + ")");
  statement st{
      "WITH busy AS (SELECT tenant_id, run_id, count(*) AS n FROM pipeline_items WHERE status = "
      "'running' AND lease_until >= now() GROUP BY tenant_id, run_id), "
      "candidates AS (SELECT i.tenant_id, i.run_id, i.id, i.position, r.created_at AS run_at "
      "FROM pipeline_items i JOIN pipeline_runs r ON r.tenant_id = i.tenant_id AND r.id = "
      "i.run_id WHERE r.status = 'running' AND (i.status IN ('pending', 'truncated') OR "
      "(i.status = 'running' AND i.lease_until < now())) ORDER BY r.created_at, i.position "
      "LIMIT $2 FOR UPDATE OF i SKIP LOCKED), "
      "run_ranked AS (SELECT c.*, row_number() OVER (PARTITION BY c.tenant_id, c.run_id ORDER "
      "BY c.position) + coalesce((SELECT b.n FROM busy b WHERE b.tenant_id = c.tenant_id AND "
      "b.run_id = c.run_id), 0) AS run_load FROM candidates c), "
      "tenant_ranked AS (SELECT c.*, row_number() OVER (PARTITION BY c.tenant_id ORDER BY "
      "c.run_at, c.position) + coalesce((SELECT sum(b.n) FROM busy b WHERE b.tenant_id = "
      "c.tenant_id), 0) AS tenant_load FROM run_ranked c WHERE c.run_load <= $4), "
      "picked AS (SELECT tenant_id, run_id, id FROM tenant_ranked WHERE tenant_load <= $5 "
      "ORDER BY run_at, position LIMIT $3), "
      "claimed AS (UPDATE pipeline_items i SET status = 'running', owner = $1, lease_until = "
      "now() + make_interval(secs => $6), attempts = i.attempts + 1, updated_at = "
      "clock_timestamp() FROM picked p, pipeline_runs r WHERE i.tenant_id = p.tenant_id AND "
      "i.run_id = p.run_id AND i.id = p.id AND r.tenant_id = i.tenant_id AND r.id = i.run_id "
      "RETURNING i.tenant_id, i.run_id, i.id, r.kind, r.input::text, r.project_id, "
      "r.created_by, i.input::text, i.partial, i.output::text, i.attempts) "
      "SELECT c.*, pg_notify('" +
      std::string{pipeline_progress_channel} + "', c.run_id::text) FROM claimed c"};
  st.bind(owner)
      .bind(limits.node_room * candidate_factor)
      .bind(limits.node_room)
      .bind(limits.run_concurrency)
      .bind(limits.tenant_concurrency)
      .bind(limits.lease_s);
  b.statements.push_back(std::move(st));
  return b;
}

std::vector<claimed_item> claimed_rows(const db_result& r) {
  std::vector<claimed_item> out;
  out.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i) {
    claimed_item c;
    c.tenant_id = r.at(i, 0);
    c.run_id = r.at(i, 1);
    c.id = r.at(i, 2);
    c.kind = r.at(i, 3);
    c.run_input = r.at(i, 4);
    c.project_id = r.at(i, 5);
    c.created_by = r.get(i, 6).value_or("");
    c.input = r.at(i, 7);
    c.partial = r.get(i, 8);
    c.output = r.get(i, 9);
    c.attempts = int_cell(r, i, 10);
    out.push_back(std::move(c));
  }
  return out;
}

statement renew(std::string_view owner, std::int64_t lease_s) {
  statement st{
      "UPDATE pipeline_items SET lease_until = now() + make_interval(secs => $2) WHERE owner = "
      "$1 AND status = 'running' RETURNING id"};
  st.bind(owner).bind(lease_s);
  return st;
}

db_batch complete(const held_item& item, std::vector<statement> product, product_table table,
                  std::string_view project_id, const served& by) {
  db_batch b;
  b.transaction = true;
  b.statements.push_back(lease_check(item));
  for (auto& st : product) b.statements.push_back(std::move(st));
  statement check{"SELECT (CASE WHEN count(*) = 1 THEN '1' ELSE 'no product' END)::int FROM (" +
                  written_row(table, "$2") + ") written"};
  check.bind(item.tenant_id).bind(project_id);
  b.statements.push_back(std::move(check));
  statement done{"UPDATE pipeline_items SET status = 'done', output = jsonb_build_object('" +
                 std::string{table == product_table::post ? "postId" : "docId"} + "', (" +
                 written_row(table, "$5") +
                 ")), partial = NULL, error = NULL, owner = NULL, lease_until = NULL, provider = "
                 "$6, key_scope = $7, fallback = $8::boolean, updated_at = clock_timestamp() "
                 "WHERE tenant_id = $1 AND run_id = $2 AND id = $3 AND owner = $4"};
  done.bind(item.tenant_id).bind(item.run_id).bind(item.id).bind(item.owner).bind(project_id);
  b.statements.push_back(set_served(std::move(done), by));
  finish_tail(b, item.tenant_id, item.run_id);
  return b;
}

db_batch truncate(const held_item& item, std::string_view partial, std::string_view answers_json,
                  const served& by) {
  db_batch b;
  b.transaction = true;
  b.statements.push_back(lease_check(item));
  statement cut{
      "UPDATE pipeline_items SET status = 'truncated', partial = $5, output = $6::jsonb, owner = "
      "NULL, lease_until = NULL, provider = $7, key_scope = $8, fallback = $9::boolean, "
      "updated_at = clock_timestamp() WHERE tenant_id = $1 AND run_id = $2 AND id = $3 AND "
      "owner = $4"};
  cut.bind(item.tenant_id)
      .bind(item.run_id)
      .bind(item.id)
      .bind(item.owner)
      .bind(partial)
      .bind(answers_json);
  b.statements.push_back(set_served(std::move(cut), by));
  b.statements.push_back(notify(pipeline_progress_channel, item.run_id));
  return b;
}

db_batch fail(const held_item& item, std::string_view error) {
  db_batch b;
  b.transaction = true;
  b.statements.push_back(lease_check(item));
  statement failed{
      "UPDATE pipeline_items SET status = 'failed', error = $5, owner = NULL, lease_until = "
      "NULL, updated_at = clock_timestamp() WHERE tenant_id = $1 AND run_id = $2 AND id = $3 AND "
      "owner = $4"};
  failed.bind(item.tenant_id).bind(item.run_id).bind(item.id).bind(item.owner).bind(error);
  b.statements.push_back(std::move(failed));
  finish_tail(b, item.tenant_id, item.run_id);
  return b;
}

db_batch cancel_held(std::string_view owner, std::string_view run_id) {
  db_batch b;
  b.transaction = true;
  statement st{
      "UPDATE pipeline_items SET status = 'cancelled', owner = NULL, lease_until = NULL, "
      "updated_at = clock_timestamp() WHERE run_id = $2 AND owner = $1 AND status = 'running'"};
  st.bind(owner).bind(run_id);
  b.statements.push_back(std::move(st));
  b.statements.push_back(notify(pipeline_progress_channel, run_id));
  return b;
}

statement release_all(std::string_view owner) {
  statement st{
      "UPDATE pipeline_items SET status = CASE WHEN partial IS NULL THEN 'pending' ELSE "
      "'truncated' END, owner = NULL, lease_until = NULL, updated_at = clock_timestamp() WHERE "
      "owner = $1 AND status = 'running'"};
  st.bind(owner);
  return st;
}

}  // namespace nyxgate::storage::pipeline_queue_repository
