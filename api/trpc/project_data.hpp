#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <memory>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "api/trpc/input.hpp"
#include "api/trpc/page.hpp"
#include "api/trpc/router.hpp"
#include "storage/database.hpp"
#include "storage/projects_repository.hpp"

/// What the project data procedures share: the fields of docs/projects.md ("Validation"),
/// checked before any statement runs, the note object, and the write that changes a public
/// blog.
namespace nyxgate::api::project_data {

inline constexpr std::size_t max_slug = 64;
inline constexpr std::size_t max_name = 200;
inline constexpr std::size_t max_title = 300;
inline constexpr std::size_t max_description = 2000;
inline constexpr std::size_t max_note_body = 256 * 1024;  ///< bytes of UTF-8, as posts
inline constexpr std::size_t max_doc_body = 1024 * 1024;  ///< bytes of UTF-8

/// `[a-z0-9-]`, 1–64 characters.
bool valid_slug(std::string_view s);
/// `owner/name` as GitHub spells them.
bool valid_github_repo(std::string_view s);

std::optional<std::string> optional_slug(input_reader& in, std::string_view key);
std::string required_slug(input_reader& in, std::string_view key);
/// A body of at most `max_bytes` bytes of UTF-8 (empty allowed).
std::optional<std::string> optional_body(input_reader& in, std::string_view key,
                                         std::size_t max_bytes);
std::string required_body(input_reader& in, std::string_view key, std::size_t max_bytes);
/// Absent: nullopt; `null`: an empty inner optional (clear the column); else the checked
/// value. `check` accepts the text; `rule` says what it must be.
std::optional<std::optional<std::string>> nullable_field(input_reader& in, std::string_view key,
                                                         bool (*check)(std::string_view),
                                                         std::string_view rule);

/// A list of at most 100 note ids (canonical UUIDs), returned lower-cased and distinct; absent
/// or null: empty.
std::vector<std::string> optional_note_ids(input_reader& in, std::string_view key);

/// A post slug made from a title (storage picks the free one: workflows name their posts
/// by the same rule).
using storage::projects_repository::slug_from_title;

/// The objects of docs/projects.md ("Procedures"), shared by every procedure that shows them.
boost::json::value project_json(const storage::projects_repository::project_row& p);
boost::json::value note_json(const storage::projects_repository::note_row& n);
/// A whole doc, or in lists (`listed`) its excerpt instead of its body.
boost::json::value doc_json(const storage::projects_repository::doc_row& d, bool listed);
boost::json::value post_json(const storage::projects_repository::post_row& p);

struct services {
  storage::database& db;
  /// Drops the node's rendered pages of a project's blog.
  std::function<void(const std::string& project_id)> blog_changed;
};

/// Runs `batch` as one transaction that also notifies every node that the project's public
/// blog changed; after the commit drops this node's pages, so the answer never precedes that.
boost::asio::awaitable<storage::db_reply> write_blog(services& s, storage::db_batch batch,
                                                     const std::string& project_id);

/// The one answer for a project id the caller's tenant does not hold, missing or not.
trpc_error no_such_project(std::string_view field);

/// Runs a list of one project's rows after checking, in the same round trip, that the project
/// is the tenant's: its rows, or NOT_FOUND naming `input.projectId`.
boost::asio::awaitable<std::variant<storage::db_result, trpc_error>> project_list(
    services& s, const std::string& tenant_id, const std::string& project_id,
    storage::statement list, std::string_view what);

/// A list procedure over one project's rows: reads `{projectId, limit?, cursor?}`, runs
/// `list(project_id, page)` behind the project check, and answers the page of `decode(rows)`,
/// each rendered by `render`.
template <class List, class Decode, class Render>
boost::asio::awaitable<procedure_result> project_page(
    services& s, const procedure_context& ctx, const std::optional<boost::json::value>& input,
    std::string_view what, List list, Decode decode, Render render) {
  input_reader in(input);
  auto project_id = in.required_uuid("projectId");
  auto page = read_page(in);
  NYXGATE_FINISH_INPUT(in);
  auto rows = co_await project_list(s, ctx.who.tenant_id, project_id, list(project_id, page), what);
  if (auto* e = std::get_if<trpc_error>(&rows)) co_return std::move(*e);
  co_return page_reply(decode(std::get<storage::db_result>(rows)), page, render);
}

/// Registers `fn(services&, context, input)` under `path`.
template <class Fn>
void add(trpc_router& router, const std::shared_ptr<services>& s, const char* path, trpc_kind kind,
         Fn fn) {
  router.add(path, kind,
             [s, fn](const procedure_context& c, const std::optional<boost::json::value>& i) {
               return fn(*s, c, i);
             });
}

}  // namespace nyxgate::api::project_data
