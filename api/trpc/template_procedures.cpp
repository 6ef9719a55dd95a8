#include "api/trpc/template_procedures.hpp"

#include <optional>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "api/trpc/identity_procedures.hpp"
#include "api/trpc/input.hpp"
#include "api/trpc/project_data.hpp"
#include "storage/async.hpp"
#include "storage/templates_repository.hpp"
#include "workflows/templates.hpp"

namespace nyxgate::api {

namespace json = boost::json;
using boost::asio::awaitable;
namespace repo = storage::templates_repository;

namespace {

constexpr workflows::kind all_kinds[] = {workflows::kind::blog, workflows::kind::docs,
                                         workflows::kind::key_points, workflows::kind::translate};

/// The size the `prompt_templates.body` column allows.
constexpr std::size_t max_template_bytes = 65536;

json::value template_json(workflows::kind k, const repo::template_row* override_row) {
  if (override_row == nullptr)
    return json::object{{"kind", workflows::to_string(k)},
                        {"body", workflows::default_template(k)},
                        {"isDefault", true},
                        {"updatedAt", nullptr}};
  return json::object{{"kind", workflows::to_string(k)},
                      {"body", override_row->body},
                      {"isDefault", false},
                      {"updatedAt", override_row->updated_at}};
}

const repo::template_row* override_of(workflows::kind k,
                                      const std::vector<repo::template_row>& rows) {
  for (const auto& r : rows)
    if (r.kind == workflows::to_string(k)) return &r;
  return nullptr;
}

awaitable<procedure_result> templates_get(storage::database& db, const procedure_context& ctx,
                                          const std::optional<json::value>& input) {
  input_reader in(input, true);
  NYXGATE_FINISH_INPUT(in);
  if (!ctx.who.is_admin())
    co_return trpc_error{trpc_code::forbidden, "templates.get needs the admin role"};
  auto reply = co_await storage::async_execute(db, storage::single(repo::list(ctx.who.tenant_id)));
  if (!reply.ok()) co_return storage_failure(reply, "templates");
  auto rows = repo::template_rows(reply.results.front());
  json::array out;
  for (auto k : all_kinds) out.push_back(template_json(k, override_of(k, rows)));
  co_return json::value(std::move(out));
}

awaitable<procedure_result> templates_update(storage::database& db, const procedure_context& ctx,
                                             const std::optional<json::value>& input) {
  input_reader in(input);
  auto kind_name = in.required_enum("kind", {"blog", "docs", "keyPoints", "translate"});
  const auto* raw_body = in.optional_value("body");
  if (raw_body == nullptr) in.fail("body", "required: a template, or null for the default");
  std::optional<std::string> body;
  if (raw_body != nullptr && !raw_body->is_null())
    body = project_data::optional_body(in, "body", max_template_bytes);
  NYXGATE_FINISH_INPUT(in);
  if (!ctx.who.is_admin())
    co_return trpc_error{trpc_code::forbidden, "templates.update needs the admin role"};
  auto k = workflows::kind_from_string(kind_name);
  if (!k) co_return trpc_error{trpc_code::bad_request, "input.kind: unknown kind"};
  if (body) {
    if (auto e = workflows::check_template(*body))
      co_return trpc_error{trpc_code::bad_request, "input.body: " + e->message};
  }
  auto st = body ? repo::upsert(ctx.who.tenant_id, kind_name, *body, ctx.who.user_id)
                 : repo::remove(ctx.who.tenant_id, kind_name);
  auto reply = co_await storage::async_execute(db, storage::single(std::move(st)));
  if (!reply.ok()) co_return storage_failure(reply, "template");
  auto rows = repo::template_rows(reply.results.front());
  if (!body || rows.empty()) co_return template_json(*k, nullptr);
  co_return template_json(*k, &rows.front());
}

}  // namespace

std::string template_in_force(workflows::kind k, const storage::db_result& found) {
  auto rows = repo::template_rows(found);
  if (!rows.empty()) return std::move(rows.front().body);
  return std::string{workflows::default_template(k)};
}

void add_template_procedures(trpc_router& router, storage::database& db) {
  router.add("templates.get", trpc_kind::query,
             [&db](const procedure_context& c, const std::optional<json::value>& i) {
               return templates_get(db, c, i);
             });
  router.add("templates.update", trpc_kind::mutation,
             [&db](const procedure_context& c, const std::optional<json::value>& i) {
               return templates_update(db, c, i);
             });
}

}  // namespace nyxgate::api
