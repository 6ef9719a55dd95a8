#include "api/trpc/github_import_procedures.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "api/trpc/identity_procedures.hpp"
#include "api/trpc/input.hpp"
#include "api/trpc/key_access.hpp"
#include "net/client/https_client.hpp"
#include "providers/github_api.hpp"
#include "storage/async.hpp"
#include "storage/github_import_repository.hpp"
#include "storage/projects_repository.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::api {

namespace json = boost::json;
using boost::asio::awaitable;
namespace import_sql = storage::github_import_repository;
namespace projects = storage::projects_repository;

namespace {

constexpr std::int64_t default_limit = 100;
constexpr std::int64_t max_limit = 1000;
constexpr std::int64_t max_per_page = 100;  ///< GitHub's own maximum

/// What a GitHub answer other than 200 means for the caller. A 401 also marks the token's key
/// invalid, as a failed apiKeys.test would.
awaitable<trpc_error> github_failure(github_access& s, const procedure_context& ctx,
                                     const github_token& token, const std::string& repo,
                                     const net::outbound_response& answer) {
  if (answer.status == 0)
    co_return trpc_error{trpc_code::bad_gateway, "GitHub unreachable: " + answer.error};
  if (answer.status == 401) {
    std::string reason = "GitHub rejected the token (401)";
    auto failed = co_await save_key_status(s.keys, ctx.who.tenant_id, token.key_id,
                                           providers::key_status::invalid, reason, 0);
    if (failed) co_return std::move(*failed);
    co_return trpc_error{trpc_code::precondition_failed,
                         reason + "; its " + token.scope + " github key is marked invalid"};
  }
  if (answer.status == 404)
    co_return trpc_error{trpc_code::not_found,
                         "GitHub repository " + repo + " not found or not visible to the token"};
  if (providers::github_rate_limited(answer.status, answer.header("x-ratelimit-remaining"))) {
    auto reset = providers::github_reset_time(answer.header("x-ratelimit-reset"));
    co_return trpc_error{
        trpc_code::too_many_requests,
        "GitHub rate limit reached" + (reset.empty() ? std::string{} : "; it resets at " + reset)};
  }
  co_return trpc_error{trpc_code::bad_gateway, "GitHub answered " + std::to_string(answer.status)};
}

awaitable<procedure_result> import_commits(github_access& s, const procedure_context& ctx,
                                           const std::optional<json::value>& input) {
  input_reader in(input);
  auto project_id = in.required_uuid("projectId");
  auto since = in.optional_string("since", 40);
  auto limit = in.optional_int("limit", 1, max_limit).value_or(default_limit);
  if (since && !providers::valid_github_time(*since))
    in.fail("since", "expected an ISO 8601 time such as 2026-01-31T12:00:00Z");
  NYXGATE_FINISH_INPUT(in);
  auto found = co_await storage::async_execute(
      s.keys.db, storage::single(projects::find_project(ctx.who.tenant_id, project_id)));
  if (!found.ok()) co_return storage_failure(found, "project");
  auto rows = projects::project_rows(found.results.front());
  if (rows.empty()) co_return trpc_error{trpc_code::not_found, "input.projectId: no such project"};
  if (!rows.front().github_repo)
    co_return trpc_error{trpc_code::precondition_failed,
                         "the project has no githubRepo: set one with projects.update first"};
  const std::string repo = *rows.front().github_repo;
  auto opened = co_await open_github_token(s.keys, ctx);
  if (auto* e = std::get_if<trpc_error>(&opened)) co_return std::move(*e);
  const auto token = std::get<github_token>(std::move(opened));

  std::int64_t pages = 0, seen = 0;
  bool more = false;
  // Every page is read before any is written: the notes then come oldest commit first, so the
  // newest commit is the newest note, and a failure on a later page imports nothing.
  std::vector<std::vector<import_sql::commit_note>> read;
  auto url = providers::github_commits_url(s.base_url, repo,
                                           static_cast<int>(std::min(limit, max_per_page)), since);
  // Each page holds at least one commit, so `limit` bounds the pages too.
  while (seen < limit) {
    auto answer = co_await github_fetch(*s.client, url, token.secret);
    // GitHub answers 409 for the commits of an empty repository: nothing to import.
    if (answer.status == 409 && pages == 0) break;
    if (answer.status != 200) co_return co_await github_failure(s, ctx, token, repo, answer);
    ++pages;
    auto commits = providers::parse_commit_page(answer.body);
    if (!commits)
      co_return trpc_error{trpc_code::bad_gateway, "GitHub answered a page that is not commits"};
    auto take = std::min<std::int64_t>(static_cast<std::int64_t>(commits->size()), limit - seen);
    auto& notes = read.emplace_back();
    notes.reserve(static_cast<std::size_t>(take));
    for (auto i = take; i-- > 0;) {
      auto n = providers::note_of((*commits)[static_cast<std::size_t>(i)]);
      notes.push_back({std::move(n.sha), std::move(n.title), std::move(n.body)});
    }
    seen += take;
    auto next = providers::link_next(answer.header("link"));
    if (take < static_cast<std::int64_t>(commits->size()) || (next && seen >= limit)) {
      more = true;
      break;
    }
    if (!next || commits->empty()) break;
    if (!providers::under_base(s.base_url, *next)) {
      // The token goes to the configured GitHub only, whatever a Link header says.
      telemetry::log_warn("github link not followed: it leaves the configured base url",
                          {{"project", project_id}});
      break;
    }
    url = std::move(*next);
  }
  storage::db_batch batch;
  batch.transaction = true;
  for (auto page = read.rbegin(); page != read.rend(); ++page)
    if (!page->empty())
      batch.statements.push_back(
          import_sql::insert_commit_notes(ctx.who.tenant_id, project_id, ctx.who.user_id, *page));
  std::int64_t imported = 0;
  if (!batch.statements.empty()) {
    auto reply = co_await storage::async_execute(s.keys.db, std::move(batch));
    if (!reply.ok()) co_return storage_failure(reply, "note");
    for (const auto& r : reply.results) imported += static_cast<std::int64_t>(r.rows());
  }
  co_return json::value(json::object{
      {"imported", imported}, {"skipped", seen - imported}, {"pages", pages}, {"more", more}});
}

}  // namespace

void add_github_import_procedures(trpc_router& router, github_access github) {
  auto s = std::make_shared<github_access>(std::move(github));
  router.add("projects.importGitHubCommits", trpc_kind::mutation,
             [s](const procedure_context& c, const std::optional<json::value>& i) {
               return import_commits(*s, c, i);
             });
}

}  // namespace nyxgate::api
