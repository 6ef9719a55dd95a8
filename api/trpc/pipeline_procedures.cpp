#include "api/trpc/pipeline_procedures.hpp"

#include <algorithm>
#include <memory>

#include <boost/json.hpp>

#include "api/pipeline_progress.hpp"
#include "api/trpc/identity_procedures.hpp"
#include "api/trpc/page.hpp"
#include "api/trpc/project_data.hpp"
#include "storage/async.hpp"
#include "storage/pipeline_runs_repository.hpp"
#include "storage/projects_repository.hpp"
#include "workflows/templates.hpp"
#include "workflows/workflow.hpp"

namespace nyxgate::api {

namespace json = boost::json;
using boost::asio::awaitable;
namespace runs = storage::pipeline_runs_repository;
namespace projects = storage::projects_repository;

namespace {

/// The most notes a run takes by default (the newest ones); a selection is at most 100.
constexpr int max_default_notes = 1000;
constexpr std::size_t max_language = 64;

trpc_error no_such_run() {
  return {trpc_code::not_found, "input.id: no such run"};
}

/// What `pipelines.create` was asked for, checked.
struct run_request {
  std::string project_id;
  workflows::kind kind = workflows::kind::blog;
  std::optional<std::vector<std::string>> note_ids;  ///< nullopt: the default notes
  std::string note_ids_field = "input.input.noteIds";
  std::vector<std::string> doc_ids;  ///< docs: docs to refresh
  std::string doc_id;                ///< keyPoints, translate
  std::string language;              ///< translate
};

/// Whether `v` is an object with a non-null `key`.
bool given(const json::value* v, std::string_view key) {
  const auto* o = v != nullptr ? v->if_object() : nullptr;
  const auto* field = o != nullptr ? o->if_contains(key) : nullptr;
  return field != nullptr && !field->is_null();
}

/// Reads a kind's `input` object (`input.input`); its first failure, if any.
std::optional<trpc_error> read_kind_input(const json::value* raw, run_request& r) {
  const bool needs_doc =
      r.kind == workflows::kind::key_points || r.kind == workflows::kind::translate;
  input_reader in(raw, "input.input", !needs_doc);
  switch (r.kind) {
    case workflows::kind::blog:
    case workflows::kind::docs:
      if (given(raw, "noteIds")) r.note_ids = std::vector<std::string>{};
      {
        auto notes = project_data::optional_note_ids(in, "noteIds");
        if (r.note_ids) r.note_ids = std::move(notes);
      }
      if (r.kind == workflows::kind::docs)
        r.doc_ids = project_data::optional_note_ids(in, "docIds");
      break;
    case workflows::kind::key_points:
      r.doc_id = in.required_uuid("docId");
      break;
    case workflows::kind::translate:
      r.doc_id = in.required_uuid("docId");
      r.language = in.required_string("language", 1, max_language);
      break;
  }
  in.finish();
  return in.error();
}

json::value note_material(const projects::note_row& n) {
  return json::object{{"id", n.id}, {"title", n.title}, {"body", n.body}};
}

json::object doc_material(const projects::doc_row& d) {
  return json::object{{"docId", d.id}, {"title", d.title}, {"doc", d.body}};
}

/// The notes of the run as the caller sees them, oldest first: the selection (each a note of
/// the project the caller sees, else NOT_FOUND as a missing note), or by default the
/// unblogged ones (blog) or all of them (docs).
awaitable<std::variant<json::array, trpc_error>> gather_notes(storage::database& db,
                                                              const procedure_context& ctx,
                                                              const run_request& r) {
  const auto& who = ctx.who;
  storage::db_batch batch;
  if (r.note_ids) {
    for (const auto& id : *r.note_ids)
      batch.statements.push_back(projects::find_note(who.tenant_id, who.user_id, id));
  } else {
    storage::page_request page{max_default_notes, std::nullopt};
    batch.statements.push_back(
        r.kind == workflows::kind::blog
            ? projects::list_unblogged_notes(who.tenant_id, who.user_id, r.project_id, page)
            : projects::list_notes(who.tenant_id, who.user_id, r.project_id, page));
  }
  json::array notes;
  if (batch.statements.empty()) co_return notes;
  auto reply = co_await storage::async_execute(db, std::move(batch));
  if (!reply.ok()) co_return storage_failure(reply, "notes");
  std::vector<projects::note_row> rows;
  for (const auto& result : reply.results) {
    auto found = projects::note_rows(result);
    if (r.note_ids && (found.empty() || found.front().project_id != r.project_id))
      co_return trpc_error{trpc_code::not_found, r.note_ids_field + ": no such note"};
    for (auto& n : found) rows.push_back(std::move(n));
  }
  if (!r.note_ids) {
    if (rows.size() > static_cast<std::size_t>(max_default_notes)) rows.resize(max_default_notes);
    std::reverse(rows.begin(), rows.end());
  }
  for (const auto& n : rows) notes.push_back(note_material(n));
  co_return notes;
}

/// The project's docs named by `ids`, in order; NOT_FOUND naming `field` for one that is not.
awaitable<std::variant<std::vector<projects::doc_row>, trpc_error>> gather_docs(
    storage::database& db, const procedure_context& ctx, const run_request& r,
    const std::vector<std::string>& ids, std::string_view field) {
  std::vector<projects::doc_row> docs;
  if (ids.empty()) co_return docs;
  storage::db_batch batch;
  for (const auto& id : ids) batch.statements.push_back(projects::find_doc(ctx.who.tenant_id, id));
  auto reply = co_await storage::async_execute(db, std::move(batch));
  if (!reply.ok()) co_return storage_failure(reply, "docs");
  for (const auto& result : reply.results) {
    auto found = projects::doc_rows(result);
    if (found.empty() || found.front().project_id != r.project_id)
      co_return trpc_error{trpc_code::not_found, std::string{field} + ": no such doc"};
    docs.push_back(std::move(found.front()));
  }
  co_return docs;
}

/// The items of the run (docs/workflows.md, "Kinds"), or why there are none.
awaitable<std::variant<json::array, trpc_error>> build_items(storage::database& db,
                                                             const procedure_context& ctx,
                                                             const run_request& r) {
  json::array items;
  if (r.kind == workflows::kind::key_points || r.kind == workflows::kind::translate) {
    const std::vector<std::string> ids{r.doc_id};
    auto docs = co_await gather_docs(db, ctx, r, ids, "input.input.docId");
    if (auto* e = std::get_if<trpc_error>(&docs)) co_return std::move(*e);
    items.push_back(doc_material(std::get<0>(docs).front()));
    co_return items;
  }
  auto notes = co_await gather_notes(db, ctx, r);
  if (auto* e = std::get_if<trpc_error>(&notes)) co_return std::move(*e);
  auto& material = std::get<json::array>(notes);
  auto docs = co_await gather_docs(db, ctx, r, r.doc_ids, "input.input.docIds");
  if (auto* e = std::get_if<trpc_error>(&docs)) co_return std::move(*e);
  // A docs run that only refreshes docs makes no new doc unless notes were selected.
  const bool new_item = r.kind == workflows::kind::blog || r.doc_ids.empty() || r.note_ids;
  if (new_item && !material.empty()) items.push_back(json::object{{"notes", material}});
  for (const auto& d : std::get<0>(docs)) {
    auto item = doc_material(d);
    item["notes"] = material;
    items.push_back(std::move(item));
  }
  if (items.empty())
    co_return trpc_error{trpc_code::precondition_failed,
                         r.kind == workflows::kind::blog
                             ? "nothing to write from: the project has no unblogged notes"
                             : "nothing to write from: the project has no notes"};
  co_return items;
}

/// Snapshots the run context, builds the items and creates the run.
awaitable<procedure_result> start_run(storage::database& db, const procedure_context& ctx,
                                      const run_request& r) {
  const auto kind_name = std::string{workflows::to_string(r.kind)};
  auto setting_reply = co_await storage::async_execute(
      db, storage::single(runs::run_setting(ctx.who.tenant_id, r.project_id, kind_name)));
  if (!setting_reply.ok()) co_return storage_failure(setting_reply, "run");
  auto setting = runs::setting_of(setting_reply.results.front());
  if (!setting) co_return project_data::no_such_project("projectId");

  auto items = co_await build_items(db, ctx, r);
  if (auto* e = std::get_if<trpc_error>(&items)) co_return std::move(*e);

  workflows::run_context context;
  context.template_text =
      setting->template_override.value_or(std::string{workflows::default_template(r.kind)});
  context.ethics = setting->ethics;
  context.project_name = setting->project_name;
  context.language = r.language;

  runs::new_run n;
  n.tenant_id = ctx.who.tenant_id;
  n.project_id = r.project_id;
  n.created_by = ctx.who.user_id;
  n.kind = kind_name;
  n.context = json::serialize(workflows::to_json(context));
  n.items = json::serialize(std::get<json::array>(items));
  auto reply = co_await storage::async_execute(db, storage::single(runs::create_run(n)));
  if (!reply.ok()) co_return storage_failure(reply, "run");
  auto rows = runs::run_rows(reply.results.front());
  if (rows.empty()) co_return project_data::no_such_project("projectId");
  co_return pipeline_run_json(rows.front());
}

awaitable<procedure_result> pipelines_create(storage::database& db, const procedure_context& ctx,
                                             const std::optional<json::value>& input) {
  input_reader in(input);
  run_request r;
  r.project_id = in.required_uuid("projectId");
  auto kind_name = in.required_enum("kind", {"blog", "docs", "keyPoints", "translate"});
  const auto* kind_input = in.optional_value("input");
  NYXGATE_FINISH_INPUT(in);
  auto k = workflows::kind_from_string(kind_name);
  if (!k) co_return trpc_error{trpc_code::bad_request, "input.kind: unknown kind"};
  r.kind = *k;
  if (auto e = read_kind_input(kind_input, r)) co_return std::move(*e);
  co_return co_await start_run(db, ctx, r);
}

awaitable<procedure_result> blog_posts_generate(storage::database& db, const procedure_context& ctx,
                                                const std::optional<json::value>& input) {
  input_reader in(input);
  run_request r;
  r.project_id = in.required_uuid("projectId");
  r.kind = workflows::kind::blog;
  r.note_ids_field = "input.noteIds";
  if (input && given(&*input, "noteIds")) r.note_ids = std::vector<std::string>{};
  auto notes = project_data::optional_note_ids(in, "noteIds");
  if (r.note_ids) r.note_ids = std::move(notes);
  NYXGATE_FINISH_INPUT(in);
  co_return co_await start_run(db, ctx, r);
}

awaitable<procedure_result> pipelines_get(storage::database& db, const procedure_context& ctx,
                                          const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  NYXGATE_FINISH_INPUT(in);
  auto reply =
      co_await storage::async_execute(db, storage::single(runs::find_run(ctx.who.tenant_id, id)));
  if (!reply.ok()) co_return storage_failure(reply, "run");
  auto rows = runs::run_rows(reply.results.front());
  if (rows.empty()) co_return no_such_run();
  co_return pipeline_run_json(rows.front());
}

awaitable<procedure_result> pipelines_list(storage::database& db, const procedure_context& ctx,
                                           const std::optional<json::value>& input) {
  input_reader in(input, true);
  std::optional<std::string> project_id;
  if (input && given(&*input, "projectId")) project_id = in.required_uuid("projectId");
  auto page = read_page(in);
  NYXGATE_FINISH_INPUT(in);
  if (project_id) {
    project_data::services s{db, {}};
    auto list = runs::list_runs(ctx.who.tenant_id, project_id, page);
    auto rows = co_await project_data::project_list(s, ctx.who.tenant_id, *project_id,
                                                    std::move(list), "runs");
    if (auto* e = std::get_if<trpc_error>(&rows)) co_return std::move(*e);
    co_return page_reply(runs::run_rows(std::get<storage::db_result>(rows)), page,
                         pipeline_run_json);
  }
  auto reply = co_await storage::async_execute(
      db, storage::single(runs::list_runs(ctx.who.tenant_id, std::nullopt, page)));
  if (!reply.ok()) co_return storage_failure(reply, "runs");
  co_return page_reply(runs::run_rows(reply.results.front()), page, pipeline_run_json);
}

/// rerun and cancel: a batch whose last statement reads the run.
template <class Batch>
awaitable<procedure_result> change_run(storage::database& db, const procedure_context& ctx,
                                       const std::optional<json::value>& input, Batch batch) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  NYXGATE_FINISH_INPUT(in);
  auto reply = co_await storage::async_execute(db, batch(ctx.who.tenant_id, id));
  if (!reply.ok()) co_return storage_failure(reply, "run");
  auto rows = runs::run_rows(reply.results.back());
  if (rows.empty()) co_return no_such_run();
  co_return pipeline_run_json(rows.front());
}

/// How often a quiet progress stream re-reads its run and, when nothing changed, pings.
constexpr std::chrono::seconds progress_tick{10};

struct progress_services {
  boost::asio::io_context& io;
  storage::database& db;
  progress_hub& hub;
};

awaitable<subscription_result> pipelines_on_progress(progress_services s,
                                                     const procedure_context& ctx,
                                                     const std::optional<json::value>& input) {
  input_reader in(input);
  auto run_id = in.required_uuid("runId");
  // httpSubscriptionLink sends the last event id on a reconnect; progress restarts from now.
  in.optional_string("lastEventId", 256);
  NYXGATE_FINISH_INPUT(in);
  auto reply = co_await storage::async_execute(
      s.db, storage::single(runs::find_run(ctx.who.tenant_id, run_id)));
  if (!reply.ok()) co_return storage_failure(reply, "run");
  if (runs::run_rows(reply.results.front()).empty())
    co_return trpc_error{trpc_code::not_found, "input.runId: no such run"};
  co_return stream_fn{
      [s, tenant_id = ctx.who.tenant_id, run_id,
       disconnected = ctx.request.disconnected](std::shared_ptr<net::response_writer> writer) {
        run_watch::handlers h;
        h.on_run = [writer](const json::value& run) { return writer->write(trpc_sse_data(run)); };
        h.on_idle = [writer] { return writer->write(trpc_sse_ping()); };
        h.on_end = [writer] {
          writer->write(trpc_sse_return());
          writer->finish();
        };
        auto watch =
            run_watch::start(s.io, s.db, s.hub, tenant_id, run_id, std::move(h), progress_tick);
        disconnected->subscribe([weak = std::weak_ptr<run_watch>(watch)] {
          if (auto w = weak.lock()) w->stop();
        });
      }};
}

}  // namespace

void add_pipeline_procedures(trpc_router& router, storage::database& db,
                             boost::asio::io_context& io, progress_hub& hub) {
  auto add = [&router, &db](const char* path, trpc_kind kind, auto fn) {
    router.add(path, kind,
               [&db, fn](const procedure_context& c, const std::optional<json::value>& i) {
                 return fn(db, c, i);
               });
  };
  add("pipelines.create", trpc_kind::mutation, pipelines_create);
  add("projects.blogPosts.generate", trpc_kind::mutation, blog_posts_generate);
  add("pipelines.get", trpc_kind::query, pipelines_get);
  add("pipelines.list", trpc_kind::query, pipelines_list);
  add("pipelines.rerun", trpc_kind::mutation,
      [](storage::database& db, const procedure_context& c, const std::optional<json::value>& i) {
        return change_run(db, c, i, runs::rerun);
      });
  add("pipelines.cancel", trpc_kind::mutation,
      [](storage::database& db, const procedure_context& c, const std::optional<json::value>& i) {
        return change_run(db, c, i, runs::cancel);
      });
  router.add_subscription("pipelines.onProgress",
                          [s = progress_services{io, db, hub}](
                              const procedure_context& c, const std::optional<json::value>& i) {
                            return pipelines_on_progress(s, c, i);
                          });
}

}  // namespace nyxgate::api
