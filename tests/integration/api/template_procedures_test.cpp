// templates.get and templates.update against the real database (docs/workflows.md, "Templates
// in detail"): the defaults, an admin's override, the member's 403, a refused template that saves
// nothing, the reset with `body: null`, and overrides scoped by tenant, also as
// template_in_force reads them for a run.
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "api/trpc/template_procedures.hpp"
#include "storage/database.hpp"
#include "storage/templates_repository.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/integration/pg_fixture.hpp"
#include "tests/integration/trpc_reply.hpp"
#include "workflows/templates.hpp"

namespace json = boost::json;
namespace wf = nyxgate::workflows;
using nyxgate::testing::code_of;
using nyxgate::testing::http_reply;
using nyxgate::testing::message_of;
using nyxgate::testing::node_fixture;
using nyxgate::testing::sql;

namespace {

std::string quoted(const std::string& s) {
  return json::serialize(json::value(s));
}
std::string update_input(const std::string& kind, const std::string& body) {
  return R"({"kind":")" + kind + R"(","body":)" + quoted(body) + "}";
}

const std::vector<std::pair<std::string, wf::kind>> kinds{{"blog", wf::kind::blog},
                                                          {"docs", wf::kind::docs},
                                                          {"keyPoints", wf::kind::key_points},
                                                          {"translate", wf::kind::translate}};

constexpr const char* custom_blog = "Blog of {{ project.name }}:\n{{notes}}\n{{ethics}}";

struct templates_fixture : node_fixture {
  std::string owner = seed_tenant("acme", "owner@acme.test");
  std::string admin = add_user_with_token("acme", "admin@acme.test", "admin");
  std::string member = add_user_with_token("acme", "member@acme.test", "member");
  std::string owner_b = seed_tenant("globex", "owner@globex.test");

  json::value ok(const http_reply& r) {
    BOOST_REQUIRE_MESSAGE(r.status == 200u, r.raw);
    return r.body.at("result").at("data");
  }
  json::value templates(const std::string& token) { return ok(query("templates.get", token)); }
  /// The entry of `kind` in templates.get.
  json::value entry(const std::string& token, const std::string& kind) {
    auto list = templates(token);
    for (const auto& t : list.as_array())
      if (t.at("kind").as_string() == kind) return t;
    BOOST_FAIL("templates.get has no " << kind);
    return nullptr;
  }
  std::string tenant_id(const std::string& token) {
    return std::string{ok(query("tenants.current", token)).at("id").as_string()};
  }
  /// What a run of kind `k` would use, read as pipelines.create reads it.
  std::string in_force(const std::string& tenant, wf::kind k, const std::string& kind_name) {
    auto r = node().db().execute_blocking(
        nyxgate::storage::single(nyxgate::storage::templates_repository::find(tenant, kind_name)),
        std::chrono::seconds(10));
    BOOST_REQUIRE(r.ok());
    return nyxgate::api::template_in_force(k, r.results.front());
  }
  std::size_t override_rows() {
    return std::stoul(sql(conninfo(), "SELECT count(*) FROM prompt_templates").front().front());
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(template_procedures, templates_fixture)

BOOST_AUTO_TEST_CASE(get_lists_every_kind_with_its_default) {
  for (const auto* token : {&owner, &admin}) {
    auto list = templates(*token).as_array();
    BOOST_REQUIRE_EQUAL(list.size(), kinds.size());
    for (std::size_t i = 0; i < kinds.size(); ++i) {
      const auto& t = list[i];
      BOOST_TEST(t.at("kind").as_string() == kinds[i].first);
      BOOST_TEST(t.at("body").as_string() == wf::default_template(kinds[i].second));
      BOOST_TEST(t.at("isDefault").as_bool());
      BOOST_TEST(t.at("updatedAt").is_null());
    }
  }
  // No input and `{}` are the same question.
  BOOST_TEST(ok(query("templates.get", admin, "{}")) == templates(admin));
}

BOOST_AUTO_TEST_CASE(an_admin_saves_an_override_that_every_admin_reads) {
  auto saved = ok(mutate("templates.update", admin, update_input("blog", custom_blog)));
  BOOST_TEST(saved.at("kind").as_string() == "blog");
  BOOST_TEST(saved.at("body").as_string() == custom_blog);
  BOOST_TEST(!saved.at("isDefault").as_bool());
  BOOST_TEST(saved.at("updatedAt").as_string().size() == 24u);  // 2026-01-02T03:04:05.678Z
  for (const auto* token : {&owner, &admin}) {
    BOOST_TEST(entry(*token, "blog") == saved);
    BOOST_TEST(entry(*token, "docs").at("isDefault").as_bool());
  }
  auto tenant = tenant_id(owner);
  BOOST_TEST(in_force(tenant, wf::kind::blog, "blog") == custom_blog);
  BOOST_TEST(in_force(tenant, wf::kind::docs, "docs") == wf::default_template(wf::kind::docs));
  auto by =
      sql(conninfo(), "SELECT u.email FROM prompt_templates p JOIN users u ON u.id = p.updated_by");
  BOOST_REQUIRE_EQUAL(by.size(), 1u);
  BOOST_TEST(by.front().front() == "admin@acme.test");

  // A second save replaces the first: still one override for the kind.
  auto again = ok(mutate("templates.update", owner, update_input("blog", "{{notes}}")));
  BOOST_TEST(again.at("body").as_string() == "{{notes}}");
  BOOST_TEST(override_rows() == 1u);
  BOOST_TEST(in_force(tenant, wf::kind::blog, "blog") == "{{notes}}");
}

BOOST_AUTO_TEST_CASE(a_member_may_neither_read_nor_update) {
  auto read = query("templates.get", member);
  BOOST_TEST(read.status == 403u, read.raw);
  BOOST_TEST(code_of(read) == "FORBIDDEN");
  auto r = mutate("templates.update", member, update_input("blog", custom_blog));
  BOOST_TEST(r.status == 403u, r.raw);
  BOOST_TEST(code_of(r) == "FORBIDDEN");
  auto reset = mutate("templates.update", member, R"({"kind":"blog","body":null})");
  BOOST_TEST(reset.status == 403u, reset.raw);
  BOOST_TEST(override_rows() == 0u);
  BOOST_TEST(entry(owner, "blog").at("isDefault").as_bool());
}

BOOST_AUTO_TEST_CASE(a_refused_template_is_a_bad_request_naming_it_and_saves_nothing) {
  ok(mutate("templates.update", admin, update_input("translate", "Into {{language}}: {{doc}}")));
  const std::vector<std::pair<std::string, std::string>> cases{
      {"Translate:\n{{foo}}", "input.body: unknown variable {{foo}} at line 2"},
      {"{{doc}}\n\n{{language", "input.body: {{ without a closing }} at line 3"},
      {"{{doc}} }}", "input.body: }} without an opening {{ at line 1"},
      {"{{ {{doc}} }}", "input.body: nested braces in {{ {{doc}} at line 1"},
      {"  \n ", "input.body: empty template"},
  };
  for (const auto& [body, message] : cases) {
    auto r = mutate("templates.update", admin, update_input("translate", body));
    BOOST_TEST(r.status == 400u, r.raw);
    BOOST_TEST(code_of(r) == "BAD_REQUEST");
    BOOST_TEST(message_of(r) == message, r.raw);
  }
  const std::vector<std::pair<std::string, std::string>> shapes{
      {R"({"kind":"translate"})", "input.body"},
      {R"({"kind":"translate","body":42})", "input.body"},
      {R"({"kind":"poem","body":"{{doc}}"})", "input.kind"},
      {R"({"body":"{{doc}}"})", "input.kind"},
      {update_input("translate", std::string(65537, 'x')), "input.body"},
  };
  for (const auto& [input, field] : shapes) {
    auto r = mutate("templates.update", admin, input);
    BOOST_TEST(r.status == 400u, r.raw);
    BOOST_TEST(message_of(r).starts_with(field), r.raw);
  }
  auto kept = entry(owner, "translate");
  BOOST_TEST(kept.at("body").as_string() == "Into {{language}}: {{doc}}");
  BOOST_TEST(override_rows() == 1u);
}

BOOST_AUTO_TEST_CASE(a_null_body_goes_back_to_the_default) {
  ok(mutate("templates.update", owner, update_input("keyPoints", "Points of {{doc}}")));
  auto reset = ok(mutate("templates.update", owner, R"({"kind":"keyPoints","body":null})"));
  BOOST_TEST(reset.at("isDefault").as_bool());
  BOOST_TEST(reset.at("updatedAt").is_null());
  BOOST_TEST(reset.at("body").as_string() == wf::default_template(wf::kind::key_points));
  BOOST_TEST(entry(admin, "keyPoints") == reset);
  BOOST_TEST(override_rows() == 0u);
  // Resetting a default answers the default again.
  BOOST_TEST(ok(mutate("templates.update", owner, R"({"kind":"keyPoints","body":null})")) == reset);
  BOOST_TEST(in_force(tenant_id(owner), wf::kind::key_points, "keyPoints") ==
             wf::default_template(wf::kind::key_points));
}

BOOST_AUTO_TEST_CASE(another_tenants_override_is_invisible_and_untouched) {
  ok(mutate("templates.update", owner_b, update_input("docs", "Globex docs from {{notes}}")));
  auto a_docs = entry(owner, "docs");
  BOOST_TEST(a_docs.at("isDefault").as_bool());
  BOOST_TEST(json::serialize(templates(admin)).find("Globex") == std::string::npos);
  BOOST_TEST(in_force(tenant_id(owner), wf::kind::docs, "docs") ==
             wf::default_template(wf::kind::docs));
  BOOST_TEST(in_force(tenant_id(owner_b), wf::kind::docs, "docs") == "Globex docs from {{notes}}");

  // A's own override and its reset leave B's as it was.
  ok(mutate("templates.update", owner, update_input("docs", "Acme docs from {{notes}}")));
  ok(mutate("templates.update", owner, R"({"kind":"docs","body":null})"));
  BOOST_TEST(entry(owner_b, "docs").at("body").as_string() == "Globex docs from {{notes}}");
  BOOST_TEST(entry(owner, "docs").at("isDefault").as_bool());
}

BOOST_AUTO_TEST_SUITE_END()
