#include "api/trpc/project_insight_procedures.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <span>

#include "actors/tenant_actor.hpp"
#include "api/tenant_calls.hpp"
#include "api/trpc/identity_procedures.hpp"
#include "api/trpc/input.hpp"
#include "api/trpc/key_access.hpp"
#include "api/trpc/project_data.hpp"
#include "net/client/https_client.hpp"
#include "providers/github_api.hpp"
#include "storage/async.hpp"
#include "storage/project_insight_repository.hpp"
#include "storage/projects_repository.hpp"

namespace nyxgate::api {

namespace json = boost::json;
using boost::asio::awaitable;
namespace insight = storage::project_insight_repository;
namespace projects = storage::projects_repository;

namespace {

/// The first `limit` rows: a list statement reads one more, to know whether a page follows.
template <class Row>
std::span<const Row> first(const std::vector<Row>& rows, std::int64_t limit) {
  return std::span<const Row>(rows).first(std::min(rows.size(), static_cast<std::size_t>(limit)));
}

json::object stats_json(const std::string& project_id, const insight::project_totals& t,
                        const std::vector<insight::month_count>& months) {
  json::array per_month;
  for (const auto& m : months)
    per_month.push_back(json::object{{"month", m.month}, {"count", m.count}});
  return {{"projectId", project_id},
          {"notes", t.notes},
          {"docs", t.docs},
          {"posts", json::object{{"published", t.published_posts}, {"draft", t.draft_posts}}},
          {"notesPerMonth", std::move(per_month)},
          {"words",
           json::object{{"notes", t.note_words}, {"docs", t.doc_words}, {"posts", t.post_words}}}};
}

/// The project and its statements' results in one transaction (one snapshot); NOT_FOUND when
/// the caller's tenant has no such project.
awaitable<std::variant<storage::db_reply, trpc_error>> read_project(github_access& s,
                                                                    const procedure_context& ctx,
                                                                    const std::string& id,
                                                                    storage::db_batch batch) {
  batch.transaction = true;
  batch.statements.insert(batch.statements.begin(), projects::find_project(ctx.who.tenant_id, id));
  auto reply = co_await storage::async_execute(s.keys.db, std::move(batch));
  if (!reply.ok()) co_return storage_failure(reply, "project");
  if (reply.results.front().empty()) co_return project_data::no_such_project("id");
  co_return reply;
}

storage::db_batch stats_batch(const procedure_context& ctx, const std::string& id) {
  storage::db_batch b;
  b.statements.push_back(insight::totals(ctx.who.tenant_id, id, ctx.who.user_id));
  b.statements.push_back(insight::notes_per_month(ctx.who.tenant_id, id, ctx.who.user_id));
  return b;
}

awaitable<procedure_result> project_stats(github_access& s, const procedure_context& ctx,
                                          const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  NYXGATE_FINISH_INPUT(in);
  auto read = co_await read_project(s, ctx, id, stats_batch(ctx, id));
  if (auto* e = std::get_if<trpc_error>(&read)) co_return std::move(*e);
  const auto& r = std::get<storage::db_reply>(read).results;
  auto totals = insight::totals_of(r[1]);
  if (!totals) co_return project_data::no_such_project("id");
  co_return json::value(stats_json(id, *totals, insight::month_counts(r[2])));
}

awaitable<procedure_result> project_overview(github_access& s, const procedure_context& ctx,
                                             const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  auto limit = in.optional_int("limit", 1, 20).value_or(5);
  NYXGATE_FINISH_INPUT(in);
  auto b = stats_batch(ctx, id);
  storage::page_request latest{static_cast<int>(limit), std::nullopt};
  b.statements.push_back(projects::list_notes(ctx.who.tenant_id, ctx.who.user_id, id, latest));
  b.statements.push_back(projects::list_docs(ctx.who.tenant_id, id, latest));
  b.statements.push_back(projects::list_posts(ctx.who.tenant_id, ctx.who.user_id, id, latest));
  auto read = co_await read_project(s, ctx, id, std::move(b));
  if (auto* e = std::get_if<trpc_error>(&read)) co_return std::move(*e);
  const auto& r = std::get<storage::db_reply>(read).results;
  auto project = projects::project_rows(r[0]);
  auto totals = insight::totals_of(r[1]);
  if (!totals) co_return project_data::no_such_project("id");
  json::array notes, docs, posts;
  auto note_rows = projects::note_rows(r[3]);
  auto doc_rows = projects::doc_rows(r[4]);
  auto post_rows = projects::post_rows(r[5]);
  for (const auto& n : first(note_rows, limit)) notes.push_back(project_data::note_json(n));
  for (const auto& d : first(doc_rows, limit)) docs.push_back(project_data::doc_json(d, true));
  for (const auto& p : first(post_rows, limit)) posts.push_back(project_data::post_json(p));
  co_return json::value(
      json::object{{"project", project_data::project_json(project.front())},
                   {"notes", std::move(notes)},
                   {"docs", std::move(docs)},
                   {"posts", std::move(posts)},
                   {"stats", stats_json(id, *totals, insight::month_counts(r[2]))}});
}

json::object check(std::string_view name, std::string_view status, std::string reason) {
  return {{"name", name}, {"status", status}, {"reason", std::move(reason)}};
}

/// The tenant's chain as resolution sees it for the caller: the primary's key, else the
/// fallback's.
awaitable<json::object> provider_check(github_access& s, const procedure_context& ctx) {
  actors::resolve_query q{ctx.who.user_id, "", ""};
  auto a = co_await ask_resolve(s.keys.tenants.get(ctx.who.tenant_id), std::move(q));
  if (!a.error.empty()) co_return check("provider", "fail", "resolution failed: " + a.error);
  if (!a.found)
    co_return check("provider", "fail",
                    "no usable key for the primary or the fallback provider: add one with "
                    "apiKeys.create");
  auto served = a.provider + (a.model.empty() ? "" : " (" + a.model + ")") + " with a " + a.scope +
                " key ending in " + a.hint;
  if (a.via_fallback)
    co_return check("provider", "warn",
                    "the primary provider has no usable key; the fallback " + served + " serves");
  co_return check("provider", "ok", "the primary " + served + " serves");
}

/// The GitHub token and the repository behind it, as an import would use them.
awaitable<void> github_checks(github_access& s, const procedure_context& ctx,
                              const std::string& repo, json::array& checks) {
  auto token = co_await open_github_token(s.keys, ctx);
  if (auto* e = std::get_if<trpc_error>(&token)) {
    checks.push_back(check("github_token", "fail", e->message));
    checks.push_back(check("github_repo", "warn", "not checked: no GitHub token resolves"));
    co_return;
  }
  const auto& t = std::get<github_token>(token);
  checks.push_back(check("github_token", "ok", "a " + t.scope + " github key ending in " + t.hint));
  auto answer =
      co_await github_fetch(*s.client, providers::github_repo_url(s.base_url, repo), t.secret);
  if (answer.status == 200)
    checks.push_back(check("github_repo", "ok", repo + " is reachable"));
  else if (answer.status == 404)
    checks.push_back(
        check("github_repo", "fail", repo + " not found or not visible to the token (404)"));
  else if (answer.status == 401)
    checks.push_back(check("github_repo", "fail", "GitHub rejected the token (401)"));
  else if (providers::github_rate_limited(answer.status, answer.header("x-ratelimit-remaining"))) {
    auto reset = providers::github_reset_time(answer.header("x-ratelimit-reset"));
    checks.push_back(check(
        "github_repo", "warn",
        "GitHub rate limit reached" + (reset.empty() ? std::string{} : "; it resets at " + reset)));
  } else if (answer.status == 0)
    checks.push_back(check("github_repo", "warn", "GitHub unreachable: " + answer.error));
  else
    checks.push_back(
        check("github_repo", "warn", "GitHub answered " + std::to_string(answer.status)));
}

awaitable<procedure_result> project_health(github_access& s, const procedure_context& ctx,
                                           const std::optional<json::value>& input) {
  input_reader in(input);
  auto id = in.required_uuid("id");
  NYXGATE_FINISH_INPUT(in);
  storage::db_batch b;
  b.statements.push_back(insight::totals(ctx.who.tenant_id, id, ctx.who.user_id));
  auto read = co_await read_project(s, ctx, id, std::move(b));
  if (auto* e = std::get_if<trpc_error>(&read)) co_return std::move(*e);
  const auto& r = std::get<storage::db_reply>(read).results;
  auto project = projects::project_rows(r[0]).front();
  auto totals = insight::totals_of(r[1]);
  if (!totals) co_return project_data::no_such_project("id");
  json::array checks;
  checks.push_back(co_await provider_check(s, ctx));
  if (project.github_repo) co_await github_checks(s, ctx, *project.github_repo, checks);
  if (totals->notes == 0)
    checks.push_back(check("content", "warn", "no notes yet"));
  else
    checks.push_back(check("content", "ok", std::to_string(totals->notes) + " notes"));
  co_return json::value(json::object{
      {"projectId", id},
      {"checks", std::move(checks)},
      {"counts", json::object{{"notes", totals->notes},
                              {"docs", totals->docs},
                              {"posts", totals->published_posts + totals->draft_posts}}},
      {"lastActivityAt", totals->last_activity_at}});
}

}  // namespace

void add_project_insight_procedures(trpc_router& router, github_access github) {
  auto s = std::make_shared<github_access>(std::move(github));
  router.add("projects.healthCheck", trpc_kind::query,
             [s](const procedure_context& c, const std::optional<json::value>& i) {
               return project_health(*s, c, i);
             });
  router.add("projects.stats", trpc_kind::query,
             [s](const procedure_context& c, const std::optional<json::value>& i) {
               return project_stats(*s, c, i);
             });
  router.add("projects.overview", trpc_kind::query,
             [s](const procedure_context& c, const std::optional<json::value>& i) {
               return project_overview(*s, c, i);
             });
}

}  // namespace nyxgate::api
