#pragma once

#include <functional>
#include <string>

#include "api/trpc/router.hpp"

namespace nyxgate::storage {
class database;
}

namespace nyxgate::api {

/// projects.list|get|create|update|delete, projects.notes.list|create|update,
/// projects.docs.list|get|create|update and projects.blogPosts.* (docs/projects.md). Every
/// write that changes a public blog notifies every node in its transaction and calls
/// `blog_changed` after the commit, before it answers.
void add_project_procedures(trpc_router& router, storage::database& db,
                            std::function<void(const std::string& project_id)> blog_changed);

}  // namespace nyxgate::api
