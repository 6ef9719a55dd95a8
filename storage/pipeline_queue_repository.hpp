#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db_types.hpp"

/// SQL of the workflow queue (docs/workflows.md, "The engine"): the database is the queue.
/// Items are claimed with `FOR UPDATE SKIP LOCKED` and held by a lease (`owner`,
/// `lease_until`); every write that ends a claim first locks the item and checks the lease, so
/// a node that lost its lease writes nothing. Each batch notifies `nyxgate_pipeline_progress`
/// with the run id when it commits.
namespace nyxgate::storage::pipeline_queue_repository {

/// What bounds a claim: room on this node, and the cluster-wide bounds per tenant and run.
struct claim_limits {
  std::int64_t node_room = 0;  ///< items this node takes at most
  std::int64_t tenant_concurrency = 16;
  std::int64_t run_concurrency = 8;
  std::int64_t lease_s = 30;
};

/// Claims up to `node_room` claimable items (`pending`, `truncated`, or `running` with an
/// expired lease) of running runs for `owner`, oldest run first, keeping every tenant and run
/// within its bound. Claims are serialised by a transaction-scoped advisory lock, so the bounds
/// hold across nodes. Results: the last is claimed_rows.
db_batch claim(std::string_view owner, const claim_limits& limits);

struct claimed_item {
  std::string tenant_id;
  std::string run_id;
  std::string id;
  std::string kind;        ///< the run's kind
  std::string run_input;   ///< pipeline_runs.input as JSON text
  std::string project_id;  ///< the run's project
  std::string created_by;  ///< the run's creator; "" for none
  std::string input;       ///< pipeline_items.input as JSON text
  /// Set: the item was cut by `length` and waits for its continuation.
  std::optional<std::string> partial;
  std::optional<std::string> output;  ///< while truncated: {"answers":[...]} before the cut
  std::int64_t attempts = 0;
};
std::vector<claimed_item> claimed_rows(const db_result& r);

/// Extends every lease `owner` holds. Rows: the ids of the items it still holds.
statement renew(std::string_view owner, std::int64_t lease_s);

/// Who served an item's last call, kept on the item.
struct served {
  std::string provider;
  std::string key_scope;  ///< personal | tenant | ""
  bool fallback = false;
};

/// Identifies a held item.
struct held_item {
  std::string tenant_id;
  std::string run_id;
  std::string id;
  std::string owner;
};

/// SQLSTATE of the error a batch of this repository fails with when the item's lease was lost.
inline constexpr std::string_view lease_lost_sqlstate = "22012";

/// What an item's product statements write: one row of `blog_posts` or `docs`.
enum class product_table : std::uint8_t { post, doc };

/// SQLSTATE of the error `complete` fails with when its product statements wrote no row (the
/// project, a source note or the doc to refresh is gone).
inline constexpr std::string_view no_product_sqlstate = "22P02";

/// The item done: the `product` statements (writing one row of `table` in `project_id`) run
/// after the lease check in the same transaction; `output` names that row ({"postId"} or
/// {"docId"}), found as the row this transaction wrote; the run done or failed when no item is
/// left.
db_batch complete(const held_item& item, std::vector<statement> product, product_table table,
                  std::string_view project_id, const served& by);

/// The item `truncated`: `partial` kept aside, `answers_json` ({"answers":[...]}) the answers
/// before the cut; the lease released.
db_batch truncate(const held_item& item, std::string_view partial, std::string_view answers_json,
                  const served& by);

/// The item failed with `error` (no secret in it); the run done or failed when no item is left.
db_batch fail(const held_item& item, std::string_view error);

/// The running items `owner` holds of `run_id` as `cancelled`.
db_batch cancel_held(std::string_view owner, std::string_view run_id);

/// Every running item `owner` holds back to `pending` (a node that stops); a truncated item
/// keeps its partial answer and is continued by the next claim.
statement release_all(std::string_view owner);

}  // namespace nyxgate::storage::pipeline_queue_repository
