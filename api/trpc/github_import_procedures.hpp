#pragma once

#include "api/trpc/key_access.hpp"
#include "api/trpc/router.hpp"

namespace nyxgate::api {

/// projects.importGitHubCommits: the project repository's commits become notes, through the
/// caller's resolved GitHub token, following GitHub's `Link` pages on the base URL only.
void add_github_import_procedures(trpc_router& router, github_access github);

}  // namespace nyxgate::api
