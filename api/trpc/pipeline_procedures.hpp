#pragma once

#include <boost/asio/io_context.hpp>

#include "api/pipeline_progress.hpp"
#include "api/trpc/router.hpp"
#include "storage/database.hpp"

namespace nyxgate::api {

/// pipelines.create|get|list|rerun|cancel, projects.blogPosts.generate and the
/// pipelines.onProgress subscription (docs/workflows.md, "Procedures"): any member of the
/// tenant. `hub` is told of progress by the node's listener.
void add_pipeline_procedures(trpc_router& router, storage::database& db,
                             boost::asio::io_context& io, progress_hub& hub);

}  // namespace nyxgate::api
