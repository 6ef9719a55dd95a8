#pragma once

#include "api/trpc/key_access.hpp"
#include "api/trpc/router.hpp"

namespace nyxgate::api {

/// projects.healthCheck (what would stop the project's work: provider, GitHub token and
/// repository, content), projects.stats and projects.overview (a dashboard in one round trip).
/// Counts cover what the caller sees: the tenant's notes and the caller's own private notes.
void add_project_insight_procedures(trpc_router& router, github_access github);

}  // namespace nyxgate::api
