#include "api/trpc/projects_procedures.hpp"

#include <boost/json.hpp>

#include "api/trpc/blog_post_procedures.hpp"
#include "api/trpc/identity_procedures.hpp"
#include "api/trpc/input.hpp"
#include "api/trpc/page.hpp"
#include "api/trpc/project_data.hpp"
#include "storage/async.hpp"
#include "storage/projects_repository.hpp"

namespace nyxgate::api {

namespace json = boost::json;
using boost::asio::awaitable;
using project_data::doc_json;
using project_data::project_json;
using project_data::services;
namespace repo = storage::projects_repository;

namespace {

trpc_error not_found(std::string_view what) {
  return {trpc_code::not_found, "input.id: no such " + std::string{what}};
}

/// A unique violation of a project write: which slug is taken, asked once the write failed.
awaitable<trpc_error> project_conflict(services& s, std::string tenant_id, std::string except_id,
                                       std::optional<std::string> slug,
                                       std::optional<std::string> blog_slug) {
  auto reply = co_await storage::async_execute(
      s.db, storage::single(repo::project_slugs_taken(tenant_id, except_id, slug, blog_slug)));
  if (!reply.ok()) co_return storage_failure(reply, "project");
  auto taken = repo::slugs_taken_of(reply.results.front());
  if (taken.blog_slug)
    co_return trpc_error{trpc_code::conflict,
                         "input.blogSlug: another project's blog has this slug"};
  co_return trpc_error{trpc_code::conflict,
                       "input.slug: another project of this tenant has this slug"};
}

/// The storage failure of a project write, a unique violation named by its field.
/// Arguments by value: they live in the coroutine's frame across its co_await.
awaitable<trpc_error> project_write_failure(services& s, storage::db_reply reply,
                                            std::string tenant_id, std::string except_id,
                                            std::optional<std::string> slug,
                                            std::optional<std::string> blog_slug) {
  if (reply.error == storage::db_errc::unique_violation)
    co_return co_await project_conflict(s, std::move(tenant_id), std::move(except_id),
                                        std::move(slug), std::move(blog_slug));
  co_return storage_failure(reply, "project");
}

awaitable<procedure_result> projects_list(services& s, const procedure_context& ctx,
                                          const std::optional<json::value>& input) {
  input_reader in(input, true);
  auto page = read_page(in);
  NYXGATE_FINISH_INPUT(in);
  auto reply = co_await storage::async_execute(
      s.db, storage::single(repo::list_projects(ctx.who.tenant_id, page)));
  if (!reply.ok()) co_return storage_failure(reply, "projects");
  co_return page_reply(repo::project_rows(reply.results.front()), page, project_json);
}

awaitable<procedure_result> projects_get(services& s, const procedure_context& ctx,
                                         const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  NYXGATE_FINISH_INPUT(in);
  auto reply = co_await storage::async_execute(
      s.db, storage::single(repo::find_project(ctx.who.tenant_id, id)));
  if (!reply.ok()) co_return storage_failure(reply, "project");
  auto rows = repo::project_rows(reply.results.front());
  if (rows.empty()) co_return project_data::no_such_project("id");
  co_return project_json(rows.front());
}

awaitable<procedure_result> projects_create(services& s, const procedure_context& ctx,
                                            const std::optional<json::value>& input) {
  input_reader in(input);
  repo::new_project p;
  p.tenant_id = ctx.who.tenant_id;
  p.created_by = ctx.who.user_id;
  p.slug = project_data::required_slug(in, "slug");
  p.name = in.required_string("name", 1, project_data::max_name);
  p.description = in.optional_string("description", project_data::max_description).value_or("");
  p.github_repo = project_data::nullable_field(in, "githubRepo", project_data::valid_github_repo,
                                               "must be owner/name as GitHub spells them")
                      .value_or(std::nullopt);
  p.blog_slug = project_data::optional_slug(in, "blogSlug");
  NYXGATE_FINISH_INPUT(in);
  auto batch = storage::single(repo::create_project(p));
  batch.transaction = true;
  auto reply = co_await storage::async_execute(s.db, std::move(batch));
  if (!reply.ok()) {
    std::string no_project;
    co_return co_await project_write_failure(s, reply, p.tenant_id, no_project, p.slug,
                                             p.blog_slug);
  }
  auto rows = repo::project_rows(reply.results.front());
  if (rows.empty()) co_return trpc_error{trpc_code::internal_server_error, "project not created"};
  // A blog slug that answered 404 until now may be cached as such.
  if (p.blog_slug && s.blog_changed) s.blog_changed(rows.front().id);
  co_return project_json(rows.front());
}

awaitable<procedure_result> projects_update(services& s, const procedure_context& ctx,
                                            const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  repo::project_change c;
  c.slug = project_data::optional_slug(in, "slug");
  c.name = in.optional_string("name", project_data::max_name);
  if (c.name && c.name->empty()) in.fail("name", "must not be empty");
  c.description = in.optional_string("description", project_data::max_description);
  c.github_repo = project_data::nullable_field(in, "githubRepo", project_data::valid_github_repo,
                                               "must be owner/name as GitHub spells them, or null");
  c.blog_slug =
      project_data::nullable_field(in, "blogSlug", project_data::valid_slug,
                                   "must be 1-64 characters of a-z, 0-9 and '-', or null");
  NYXGATE_FINISH_INPUT(in);
  auto batch = storage::single(repo::update_project(ctx.who.tenant_id, id, c));
  // What a public blog shows of its project: its name, description and address.
  bool shown_on_blog = c.name || c.description || c.blog_slug;
  storage::db_reply reply;
  if (shown_on_blog) {
    reply = co_await project_data::write_blog(s, std::move(batch), id);
  } else {
    batch.transaction = true;
    reply = co_await storage::async_execute(s.db, std::move(batch));
  }
  if (!reply.ok()) {
    auto blog_slug = c.blog_slug.value_or(std::nullopt);
    co_return co_await project_write_failure(s, reply, ctx.who.tenant_id, id, c.slug, blog_slug);
  }
  auto rows = repo::project_rows(reply.results.front());
  if (rows.empty()) co_return project_data::no_such_project("id");
  co_return project_json(rows.front());
}

awaitable<procedure_result> projects_delete(services& s, const procedure_context& ctx,
                                            const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  NYXGATE_FINISH_INPUT(in);
  if (!ctx.who.is_admin())
    co_return trpc_error{trpc_code::forbidden, "projects.delete needs the admin role"};
  // One statement in one transaction: the cascade takes notes, docs, posts and sources along.
  auto reply = co_await project_data::write_blog(
      s, storage::single(repo::delete_project(ctx.who.tenant_id, id)), id);
  if (!reply.ok()) co_return storage_failure(reply, "project");
  if (reply.results.front().empty()) co_return project_data::no_such_project("id");
  co_return json::value(json::object{{"id", id}, {"deleted", true}});
}

awaitable<procedure_result> notes_list(services& s, const procedure_context& ctx,
                                       const std::optional<json::value>& input) {
  return project_data::project_page(
      s, ctx, input, "notes",
      [&ctx](const std::string& project_id, const storage::page_request& page) {
        return repo::list_notes(ctx.who.tenant_id, ctx.who.user_id, project_id, page);
      },
      repo::note_rows, project_data::note_json);
}

awaitable<procedure_result> notes_create(services& s, const procedure_context& ctx,
                                         const std::optional<json::value>& input) {
  input_reader in(input);
  repo::new_note n;
  n.tenant_id = ctx.who.tenant_id;
  n.author_id = ctx.who.user_id;
  n.project_id = in.required_uuid("projectId");
  n.title = in.required_string("title", 1, project_data::max_title);
  n.body = project_data::required_body(in, "body", project_data::max_note_body);
  n.visibility = in.optional_enum("visibility", {"tenant", "private"}).value_or("tenant");
  NYXGATE_FINISH_INPUT(in);
  auto reply = co_await storage::async_execute(s.db, storage::single(repo::create_note(n)));
  if (!reply.ok()) co_return storage_failure(reply, "note");
  auto rows = repo::note_rows(reply.results.front());
  if (rows.empty()) co_return project_data::no_such_project("projectId");
  co_return project_data::note_json(rows.front());
}

awaitable<procedure_result> notes_update(services& s, const procedure_context& ctx,
                                         const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  repo::note_change c;
  c.title = in.optional_string("title", project_data::max_title);
  if (c.title && c.title->empty()) in.fail("title", "must not be empty");
  c.body = project_data::optional_body(in, "body", project_data::max_note_body);
  c.visibility = in.optional_enum("visibility", {"tenant", "private"});
  NYXGATE_FINISH_INPUT(in);
  const auto& who = ctx.who;
  auto reply = co_await storage::async_execute(
      s.db, storage::single(repo::update_note(who.tenant_id, who.user_id, who.is_admin(), id, c)));
  if (!reply.ok()) co_return storage_failure(reply, "note");
  auto rows = repo::note_rows(reply.results.front());
  if (!rows.empty()) co_return project_data::note_json(rows.front());
  // Nothing updated: either the caller sees no such note, or it is not theirs to change.
  auto seen = co_await storage::async_execute(
      s.db, storage::single(repo::find_note(who.tenant_id, who.user_id, id)));
  if (!seen.ok()) co_return storage_failure(seen, "note");
  if (seen.results.front().empty()) co_return not_found("note");
  co_return trpc_error{trpc_code::forbidden, "only the note's author or an admin may change it"};
}

awaitable<procedure_result> docs_list(services& s, const procedure_context& ctx,
                                      const std::optional<json::value>& input) {
  return project_data::project_page(
      s, ctx, input, "docs",
      [&ctx](const std::string& project_id, const storage::page_request& page) {
        return repo::list_docs(ctx.who.tenant_id, project_id, page);
      },
      repo::doc_rows, [](const repo::doc_row& d) { return doc_json(d, true); });
}

awaitable<procedure_result> docs_get(services& s, const procedure_context& ctx,
                                     const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  NYXGATE_FINISH_INPUT(in);
  auto reply =
      co_await storage::async_execute(s.db, storage::single(repo::find_doc(ctx.who.tenant_id, id)));
  if (!reply.ok()) co_return storage_failure(reply, "doc");
  auto rows = repo::doc_rows(reply.results.front());
  if (rows.empty()) co_return not_found("doc");
  co_return doc_json(rows.front(), false);
}

awaitable<procedure_result> docs_create(services& s, const procedure_context& ctx,
                                        const std::optional<json::value>& input) {
  input_reader in(input);
  repo::new_doc d;
  d.tenant_id = ctx.who.tenant_id;
  d.created_by = ctx.who.user_id;
  d.project_id = in.required_uuid("projectId");
  d.title = in.required_string("title", 1, project_data::max_title);
  d.body = project_data::required_body(in, "body", project_data::max_doc_body);
  NYXGATE_FINISH_INPUT(in);
  auto reply = co_await storage::async_execute(s.db, storage::single(repo::create_doc(d)));
  if (!reply.ok()) co_return storage_failure(reply, "doc");
  auto rows = repo::doc_rows(reply.results.front());
  if (rows.empty()) co_return project_data::no_such_project("projectId");
  co_return doc_json(rows.front(), false);
}

awaitable<procedure_result> docs_update(services& s, const procedure_context& ctx,
                                        const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  repo::doc_change c;
  c.title = in.optional_string("title", project_data::max_title);
  if (c.title && c.title->empty()) in.fail("title", "must not be empty");
  c.body = project_data::optional_body(in, "body", project_data::max_doc_body);
  NYXGATE_FINISH_INPUT(in);
  auto reply = co_await storage::async_execute(
      s.db, storage::single(repo::update_doc(ctx.who.tenant_id, id, c)));
  if (!reply.ok()) co_return storage_failure(reply, "doc");
  auto rows = repo::doc_rows(reply.results.front());
  if (rows.empty()) co_return not_found("doc");
  co_return doc_json(rows.front(), false);
}

}  // namespace

void add_project_procedures(trpc_router& router, storage::database& db,
                            std::function<void(const std::string& project_id)> blog_changed) {
  auto s = std::make_shared<services>(services{db, std::move(blog_changed)});
  using project_data::add;
  add(router, s, "projects.list", trpc_kind::query, projects_list);
  add(router, s, "projects.get", trpc_kind::query, projects_get);
  add(router, s, "projects.create", trpc_kind::mutation, projects_create);
  add(router, s, "projects.update", trpc_kind::mutation, projects_update);
  add(router, s, "projects.delete", trpc_kind::mutation, projects_delete);
  add(router, s, "projects.notes.list", trpc_kind::query, notes_list);
  add(router, s, "projects.notes.create", trpc_kind::mutation, notes_create);
  add(router, s, "projects.notes.update", trpc_kind::mutation, notes_update);
  add(router, s, "projects.docs.list", trpc_kind::query, docs_list);
  add(router, s, "projects.docs.get", trpc_kind::query, docs_get);
  add(router, s, "projects.docs.create", trpc_kind::mutation, docs_create);
  add(router, s, "projects.docs.update", trpc_kind::mutation, docs_update);
  add_blog_post_procedures(router, s);
}

}  // namespace nyxgate::api
