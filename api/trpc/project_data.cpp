#include "api/trpc/project_data.hpp"

#include <algorithm>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "api/trpc/identity_procedures.hpp"
#include "storage/async.hpp"
#include "storage/channels.hpp"
#include "storage/projects_repository.hpp"
#include "storage/uuid.hpp"

namespace nyxgate::api::project_data {

namespace {

bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool alnum(char c) {
  return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

constexpr std::string_view slug_rule = "must be 1-64 characters of a-z, 0-9 and '-'";

}  // namespace

std::vector<std::string> optional_note_ids(input_reader& in, std::string_view key) {
  constexpr std::size_t max_notes = 100;
  std::vector<std::string> ids;
  const auto* raw = in.optional_value(key);
  if (raw == nullptr || raw->is_null()) return ids;
  const auto* list = raw->if_array();
  if (list == nullptr) {
    in.fail(key, "expected an array of note ids");
    return {};
  }
  if (list->size() > max_notes) {
    in.fail(key, "at most 100 notes");
    return {};
  }
  for (const auto& v : *list) {
    const auto* s = v.if_string();
    if (s == nullptr || s->size() != 36 || !storage::is_uuid(std::string_view{*s})) {
      in.fail(key, "expected an array of note ids (UUIDs)");
      return {};
    }
    std::string id{*s};
    std::transform(id.begin(), id.end(), id.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(std::move(id));
  }
  return ids;
}

bool valid_slug(std::string_view s) {
  return !s.empty() && s.size() <= max_slug &&
         std::all_of(s.begin(), s.end(), [](char c) { return lower_alnum(c) || c == '-'; });
}

bool valid_github_repo(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  auto owner = s.substr(0, slash);
  auto name = s.substr(slash + 1);
  return !owner.empty() && owner.size() <= 39 &&
         std::all_of(owner.begin(), owner.end(), [](char c) { return alnum(c) || c == '-'; }) &&
         !name.empty() && name.size() <= 100 && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

std::optional<std::string> optional_slug(input_reader& in, std::string_view key) {
  auto s = in.optional_string(key, max_slug);
  if (s && !valid_slug(*s)) {
    in.fail(key, slug_rule);
    return std::nullopt;
  }
  return s;
}

std::string required_slug(input_reader& in, std::string_view key) {
  auto s = in.required_string(key, 1, max_slug);
  if (in.ok() && !valid_slug(s)) in.fail(key, slug_rule);
  return s;
}

std::optional<std::string> optional_body(input_reader& in, std::string_view key,
                                         std::size_t max_bytes) {
  auto s = in.optional_string(key, max_bytes);
  if (s && s->size() > max_bytes) {
    in.fail(key, "must be at most " + std::to_string(max_bytes) + " bytes of UTF-8");
    return std::nullopt;
  }
  return s;
}

std::string required_body(input_reader& in, std::string_view key, std::size_t max_bytes) {
  auto s = in.required_string(key, 0, max_bytes);
  if (in.ok() && s.size() > max_bytes)
    in.fail(key, "must be at most " + std::to_string(max_bytes) + " bytes of UTF-8");
  return s;
}

std::optional<std::optional<std::string>> nullable_field(input_reader& in, std::string_view key,
                                                         bool (*check)(std::string_view),
                                                         std::string_view rule) {
  const auto* raw = in.optional_value(key);
  if (raw == nullptr) return std::nullopt;
  if (raw->is_null()) return std::optional<std::string>{};
  auto s = in.optional_string(key, 256);
  if (!s) return std::nullopt;
  if (!check(*s)) {
    in.fail(key, rule);
    return std::nullopt;
  }
  return std::optional<std::string>{std::move(*s)};
}

boost::asio::awaitable<storage::db_reply> write_blog(services& s, storage::db_batch batch,
                                                     const std::string& project_id) {
  batch.transaction = true;
  batch.statements.push_back(storage::notify(storage::blog_change_channel, project_id));
  auto reply = co_await storage::async_execute(s.db, std::move(batch));
  if (reply.ok() && s.blog_changed) s.blog_changed(project_id);
  co_return reply;
}

boost::json::value project_json(const storage::projects_repository::project_row& p) {
  return boost::json::object{{"id", p.id},
                             {"slug", p.slug},
                             {"name", p.name},
                             {"description", p.description},
                             {"githubRepo", json_or_null(p.github_repo)},
                             {"blogSlug", json_or_null(p.blog_slug)},
                             {"createdAt", p.created_at},
                             {"updatedAt", p.updated_at}};
}

boost::json::value doc_json(const storage::projects_repository::doc_row& d, bool listed) {
  return boost::json::object{{"id", d.id},
                             {"projectId", d.project_id},
                             {"title", d.title},
                             {listed ? "excerpt" : "body", d.body},
                             {"createdAt", d.created_at},
                             {"updatedAt", d.updated_at}};
}

boost::json::value post_json(const storage::projects_repository::post_row& p) {
  boost::json::array sources;
  for (const auto& id : p.source_note_ids) sources.emplace_back(id);
  return boost::json::object{{"id", p.id},
                             {"projectId", p.project_id},
                             {"slug", p.slug},
                             {"title", p.title},
                             {"body", p.body},
                             {"sourceNoteIds", std::move(sources)},
                             {"status", p.published_at ? "published" : "draft"},
                             {"publishedAt", json_or_null(p.published_at)},
                             {"createdAt", p.created_at},
                             {"updatedAt", p.updated_at}};
}

boost::json::value note_json(const storage::projects_repository::note_row& n) {
  return boost::json::object{{"id", n.id},
                             {"projectId", n.project_id},
                             {"authorId", json_or_null(n.author_id)},
                             {"title", n.title},
                             {"body", n.body},
                             {"visibility", n.visibility},
                             {"githubSha", json_or_null(n.github_sha)},
                             {"createdAt", n.created_at},
                             {"updatedAt", n.updated_at}};
}

trpc_error no_such_project(std::string_view field) {
  return {trpc_code::not_found, "input." + std::string{field} + ": no such project"};
}

boost::asio::awaitable<std::variant<storage::db_result, trpc_error>> project_list(
    services& s, const std::string& tenant_id, const std::string& project_id,
    storage::statement list, std::string_view what) {
  storage::db_batch batch;
  batch.statements.push_back(storage::projects_repository::find_project(tenant_id, project_id));
  batch.statements.push_back(std::move(list));
  auto reply = co_await storage::async_execute(s.db, std::move(batch));
  if (!reply.ok()) co_return storage_failure(reply, what);
  if (reply.results.front().empty()) co_return no_such_project("projectId");
  co_return std::move(reply.results.back());
}

}  // namespace nyxgate::api::project_data
