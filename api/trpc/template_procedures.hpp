#pragma once

#include <string>

#include "api/trpc/router.hpp"
#include "storage/db_types.hpp"
#include "workflows/workflow.hpp"

namespace nyxgate::storage {
class database;
}

namespace nyxgate::api {

/// templates.get (any member: every kind's template in force) and templates.update (admin:
/// save an override that `workflows::check_template` accepts, or `body: null` for the
/// default). docs/workflows.md, "Templates in detail".
void add_template_procedures(trpc_router& router, storage::database& db);

/// The template a run of kind `k` uses: the tenant's override that
/// `storage::templates_repository::find(tenant_id, workflows::to_string(k))` returned in
/// `found`, else the kind's default.
std::string template_in_force(workflows::kind k, const storage::db_result& found);

}  // namespace nyxgate::api
