#include "api/trpc/blog_post_procedures.hpp"

#include <boost/json.hpp>

#include "api/trpc/identity_procedures.hpp"
#include "api/trpc/page.hpp"
#include "storage/async.hpp"
#include "storage/projects_repository.hpp"
#include "storage/uuid.hpp"

namespace nyxgate::api {

namespace json = boost::json;
using boost::asio::awaitable;
using project_data::post_json;
using project_data::services;
namespace repo = storage::projects_repository;

namespace {

trpc_error no_such_post() {
  return {trpc_code::not_found, "input.id: no such post"};
}

awaitable<procedure_result> posts_list(services& s, const procedure_context& ctx,
                                       const std::optional<json::value>& input) {
  return project_data::project_page(
      s, ctx, input, "blog posts",
      [&ctx](const std::string& project_id, const storage::page_request& page) {
        return repo::list_posts(ctx.who.tenant_id, ctx.who.user_id, project_id, page);
      },
      repo::post_rows, post_json);
}

awaitable<procedure_result> posts_get(services& s, const procedure_context& ctx,
                                      const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  NYXGATE_FINISH_INPUT(in);
  auto reply = co_await storage::async_execute(
      s.db, storage::single(repo::find_post(ctx.who.tenant_id, ctx.who.user_id, id)));
  if (!reply.ok()) co_return storage_failure(reply, "blog post");
  auto rows = repo::post_rows(reply.results.front());
  if (rows.empty()) co_return no_such_post();
  co_return post_json(rows.front());
}

awaitable<procedure_result> posts_create(services& s, const procedure_context& ctx,
                                         const std::optional<json::value>& input) {
  input_reader in(input);
  repo::new_post p;
  p.tenant_id = ctx.who.tenant_id;
  p.created_by = ctx.who.user_id;
  p.project_id = in.required_uuid("projectId");
  p.title = in.required_string("title", 1, project_data::max_title);
  p.body = project_data::required_body(in, "body", project_data::max_note_body);
  p.slug = project_data::optional_slug(in, "slug");
  p.source_note_ids = project_data::optional_note_ids(in, "sourceNoteIds");
  NYXGATE_FINISH_INPUT(in);
  p.default_slug = project_data::slug_from_title(p.title);
  auto reply = co_await storage::async_execute(s.db, storage::single(repo::create_post(p)));
  // A default slug taken between the choice and the insert: choose again once.
  if (reply.error == storage::db_errc::unique_violation && !p.slug)
    reply = co_await storage::async_execute(s.db, storage::single(repo::create_post(p)));
  if (reply.error == storage::db_errc::unique_violation)
    co_return trpc_error{trpc_code::conflict,
                         "input.slug: another post of this project has "
                         "this slug"};
  if (!reply.ok()) co_return storage_failure(reply, "blog post");
  auto rows = repo::post_rows(reply.results.front());
  if (!rows.empty()) co_return post_json(rows.front());
  // Nothing inserted: the project is not the tenant's, or a source is no note the caller sees.
  auto project = co_await storage::async_execute(
      s.db, storage::single(repo::find_project(p.tenant_id, p.project_id)));
  if (!project.ok()) co_return storage_failure(project, "blog post");
  if (project.results.front().empty()) co_return project_data::no_such_project("projectId");
  co_return trpc_error{trpc_code::not_found, "input.sourceNoteIds: no such note"};
}

awaitable<procedure_result> posts_unblogged(services& s, const procedure_context& ctx,
                                            const std::optional<json::value>& input) {
  return project_data::project_page(
      s, ctx, input, "notes",
      [&ctx](const std::string& project_id, const storage::page_request& page) {
        return repo::list_unblogged_notes(ctx.who.tenant_id, ctx.who.user_id, project_id, page);
      },
      repo::note_rows, project_data::note_json);
}

awaitable<procedure_result> posts_publish(services& s, const procedure_context& ctx,
                                          const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  NYXGATE_FINISH_INPUT(in);
  if (!ctx.who.is_admin())
    co_return trpc_error{trpc_code::forbidden, "projects.blogPosts.publish needs the admin role"};
  // The post's project names the blog to notify.
  auto found = co_await storage::async_execute(
      s.db, storage::single(repo::find_post(ctx.who.tenant_id, ctx.who.user_id, id)));
  if (!found.ok()) co_return storage_failure(found, "blog post");
  auto before = repo::post_rows(found.results.front());
  if (before.empty()) co_return no_such_post();
  auto reply = co_await project_data::write_blog(
      s, storage::single(repo::publish_post(ctx.who.tenant_id, ctx.who.user_id, id)),
      before.front().project_id);
  if (!reply.ok()) co_return storage_failure(reply, "blog post");
  auto rows = repo::post_rows(reply.results.front());
  if (rows.empty()) co_return no_such_post();
  co_return post_json(rows.front());
}

}  // namespace

void add_blog_post_procedures(trpc_router& router, std::shared_ptr<services> s) {
  using project_data::add;
  add(router, s, "projects.blogPosts.list", trpc_kind::query, posts_list);
  add(router, s, "projects.blogPosts.get", trpc_kind::query, posts_get);
  add(router, s, "projects.blogPosts.create", trpc_kind::mutation, posts_create);
  add(router, s, "projects.blogPosts.unblogged", trpc_kind::query, posts_unblogged);
  add(router, s, "projects.blogPosts.publish", trpc_kind::mutation, posts_publish);
}

}  // namespace nyxgate::api
