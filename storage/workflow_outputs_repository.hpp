#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db_types.hpp"

/// SQL that writes a workflow item's product (docs/workflows.md, "Kinds in detail"): a draft
/// post citing its source notes, or a new or refreshed doc. Plain fields only; the engine runs
/// these statements inside the transaction that checks the item's lease, so a product is
/// written once. Every statement is scoped by tenant and project.
namespace nyxgate::storage::workflow_outputs_repository {

struct draft_post {
  std::string tenant_id;
  std::string project_id;
  std::optional<std::string> created_by;  ///< the run's creator; none: they left the tenant
  std::string title;
  std::string body;
  /// Note ids to cite; duplicates and text that is no UUID are left out.
  std::vector<std::string> source_note_ids;
};

/// Serialises the post inserts of one project until the transaction ends, so concurrent items
/// never pick the same free slug. Run it before `insert_draft_post` in the same transaction.
statement lock_post_slugs(std::string_view tenant_id, std::string_view project_id);

/// Inserts an unpublished post with a free slug made from its title and its source rows, the
/// same statement as `blogPosts.create`. Rows: the post's columns, its id first (none: the
/// project is gone, or a source note is gone or hidden from the creator).
statement insert_draft_post(const draft_post& p);

struct doc_product {
  std::string tenant_id;
  std::string project_id;
  std::optional<std::string> created_by;
  std::string title;
  std::string body;
  /// The doc to refresh (overwrite title and body); none: insert a new doc.
  std::optional<std::string> refresh_doc_id;
};

/// Inserts the doc, or refreshes `refresh_doc_id` when it is a doc of the same tenant and
/// project. Rows: the doc's columns, its id first (none: the project is gone, or the doc to
/// refresh is not one of this project).
statement write_doc(const doc_product& d);

/// The id a product statement returned; none when it wrote nothing.
std::optional<std::string> product_id(const db_result& r);

}  // namespace nyxgate::storage::workflow_outputs_repository
