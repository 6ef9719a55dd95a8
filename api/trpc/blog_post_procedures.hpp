#pragma once

#include <memory>

#include "api/trpc/project_data.hpp"
#include "api/trpc/router.hpp"

namespace nyxgate::api {

/// projects.blogPosts.list|get|create|unblogged|publish; registered by add_project_procedures.
void add_blog_post_procedures(trpc_router& router, std::shared_ptr<project_data::services> s);

}  // namespace nyxgate::api
