#pragma once

#include "api/trpc/router.hpp"
#include "storage/database.hpp"

namespace nyxgate::api {

/// pipelines.create|get|list|rerun|cancel and projects.blogPosts.generate (docs/workflows.md,
/// "Procedures"): any member of the tenant.
void add_pipeline_procedures(trpc_router& router, storage::database& db);

}  // namespace nyxgate::api
