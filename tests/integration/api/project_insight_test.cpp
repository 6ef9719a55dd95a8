// projects.stats, projects.overview and projects.healthCheck against the real database and
// tenant actors: counts, words and notes per month as the caller sees them (the tenant's notes
// and the caller's own private notes, never a colleague's), the latest items of a dashboard,
// the checks' verdicts, and another tenant's project answered exactly as a missing one.
// Rows are seeded in SQL with fixed times, so the arithmetic is known.
#include <boost/test/unit_test.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/node_fixture.hpp"
#include "tests/integration/pg_fixture.hpp"

namespace json = boost::json;
using nyxgate::testing::http_reply;
using nyxgate::testing::node_fixture;
using nyxgate::testing::sql;

namespace {

constexpr const char* missing_id = "00000000-0000-4000-8000-000000000000";

const json::value& data(const http_reply& r) {
  return r.body.at("result").at("data");
}
std::string str(const json::value& v, std::string_view k) {
  return std::string{v.at(k).as_string()};
}
std::int64_t num(const json::value& v, std::string_view k) {
  return v.at(k).as_int64();
}
std::string id_input(const std::string& id) {
  return R"({"id":")" + id + "\"}";
}

/// Acme's project "site" with notes of the owner and of two members (tenant and private), two
/// docs and two posts (one published), at fixed times; globex has its own project.
struct seeded_projects : node_fixture {
  std::string owner = seed_tenant("acme", "owner@acme.test");
  std::string member = add_user_with_token("acme", "member@acme.test", "member");
  std::string colleague = add_user_with_token("acme", "colleague@acme.test", "member");
  std::string owner_b = seed_tenant("globex", "owner@globex.test");
  std::string acme = one("SELECT id FROM tenants WHERE slug = 'acme'");
  std::string owner_id = user("owner@acme.test");
  std::string member_id = user("member@acme.test");
  std::string colleague_id = user("colleague@acme.test");
  std::string site = one("INSERT INTO projects (tenant_id, slug, name, updated_at) VALUES ('" +
                         acme + "', 'site', 'Site', '2025-01-01T00:00:00Z') RETURNING id");
  std::string globex_project =
      one("INSERT INTO projects (tenant_id, slug, name) SELECT id, 'other', 'Other' FROM tenants "
          "WHERE slug = 'globex' RETURNING id");

  std::string one(const std::string& q) { return sql(conninfo(), q).at(0).at(0); }
  std::string user(const std::string& email) {
    return one("SELECT id FROM users WHERE email = '" + email + "'");
  }
  std::string note(const std::string& author, const std::string& title, const std::string& body,
                   const std::string& visibility, const std::string& at) {
    return one(
        "INSERT INTO notes (tenant_id, project_id, author_id, title, body, visibility, "
        "created_at, updated_at) VALUES ('" +
        acme + "', '" + site + "', '" + author + "', '" + title + "', '" + body + "', '" +
        visibility + "', '" + at + "', '" + at + "') RETURNING id");
  }
  std::string doc(const std::string& title, const std::string& body, const std::string& at) {
    return one(
        "INSERT INTO docs (tenant_id, project_id, title, body, created_at, updated_at) "
        "VALUES ('" +
        acme + "', '" + site + "', '" + title + "', '" + body + "', '" + at + "', '" + at +
        "') RETURNING id");
  }
  std::string post(const std::string& slug, const std::string& body, bool published,
                   const std::string& at) {
    return one(
        "INSERT INTO blog_posts (tenant_id, project_id, slug, title, body, published_at, "
        "created_at, updated_at) VALUES ('" +
        acme + "', '" + site + "', '" + slug + "', 'Post " + slug + "', '" + body + "', " +
        (published ? "'" + at + "'" : std::string{"NULL"}) + ", '" + at + "', '" + at +
        "') RETURNING id");
  }
  void cite(const std::string& post_id, const std::string& note_id) {
    sql(conninfo(),
        "INSERT INTO blog_post_sources (tenant_id, project_id, post_id, note_id) "
        "VALUES ('" +
            acme + "', '" + site + "', '" + post_id + "', '" + note_id + "')");
  }
  json::value ok(const http_reply& r) {
    BOOST_REQUIRE_MESSAGE(r.status == 200u, r.raw);
    return data(r);
  }
};

/// The notes of `seeded_projects::seed`: words count titles and bodies.
struct with_content : seeded_projects {
  // owner: tenant note in October (2 + 3 words), private note in November (1 + 2)
  std::string owner_tenant =
      note(owner_id, "Launch plan", "alpha beta gamma", "tenant", "2025-10-05T10:00:00Z");
  std::string owner_private =
      note(owner_id, "Secret", "owner only", "private", "2025-11-02T10:00:00Z");
  // member: tenant note in November (1 + 4), private note in December (2 + 6)
  std::string member_tenant =
      note(member_id, "Findings", "one  two\nthree\tfour", "tenant", "2025-11-20T10:00:00Z");
  std::string member_private = note(member_id, "Member diary", "words nobody else may count here",
                                    "private", "2025-12-01T10:00:00Z");
  std::string doc_a = doc("Guide", "read me first", "2025-10-01T00:00:00Z");
  std::string doc_b = doc("Reference", std::string(250, 'r'), "2025-12-24T08:30:00Z");
  std::string draft = post("draft", "not yet", false, "2025-12-10T00:00:00Z");
  std::string published = post("out", "it shipped today", true, "2025-11-30T00:00:00Z");

  with_content() {
    cite(published, owner_tenant);
    cite(published, member_private);
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(project_insight_test, with_content)

BOOST_AUTO_TEST_CASE(stats_count_tenant_notes_and_the_callers_private_notes_only) {
  auto owner_stats = ok(query("projects.stats", owner, id_input(site)));
  BOOST_TEST(str(owner_stats, "projectId") == site);
  BOOST_TEST(num(owner_stats, "notes") == 3);  // two tenant notes and the owner's private one
  BOOST_TEST(num(owner_stats, "docs") == 2);
  BOOST_TEST(num(owner_stats.at("posts"), "published") == 1);
  BOOST_TEST(num(owner_stats.at("posts"), "draft") == 1);
  // (2 + 3) + (1 + 2) + (1 + 4): never the member's private 8 words.
  BOOST_TEST(num(owner_stats.at("words"), "notes") == 13);
  BOOST_TEST(num(owner_stats.at("words"), "docs") == (1 + 3) + (1 + 1));
  BOOST_TEST(num(owner_stats.at("words"), "posts") == (2 + 2) + (2 + 3));
  BOOST_TEST(json::serialize(owner_stats.at("notesPerMonth")) ==
             R"([{"month":"2025-10","count":1},{"month":"2025-11","count":2}])");

  auto member_stats = ok(query("projects.stats", member, id_input(site)));
  BOOST_TEST(num(member_stats, "notes") == 3);  // two tenant notes and the member's private one
  BOOST_TEST(num(member_stats.at("words"), "notes") == (2 + 3) + (1 + 4) + (2 + 6));
  BOOST_TEST(json::serialize(member_stats.at("notesPerMonth")) ==
             R"([{"month":"2025-10","count":1},{"month":"2025-11","count":1},)"
             R"({"month":"2025-12","count":1}])");

  // A colleague with no private notes sees the tenant's only, admins included.
  auto colleague_stats = ok(query("projects.stats", colleague, id_input(site)));
  BOOST_TEST(num(colleague_stats, "notes") == 2);
  BOOST_TEST(num(colleague_stats.at("words"), "notes") == (2 + 3) + (1 + 4));
}

BOOST_AUTO_TEST_CASE(another_tenants_project_answers_as_a_missing_one) {
  for (const char* path : {"projects.stats", "projects.overview", "projects.healthCheck"}) {
    auto foreign = query(path, owner_b, id_input(site));
    auto missing = query(path, owner_b, id_input(missing_id));
    BOOST_TEST(foreign.status == 404u, path);
    BOOST_TEST(foreign.raw == missing.raw, path);
    BOOST_TEST(foreign.raw.find("input.id: no such project") != std::string::npos, foreign.raw);
    // The owner of acme sees globex's project no more than globex sees acme's.
    BOOST_TEST(query(path, owner, id_input(globex_project)).raw ==
                   query(path, owner, id_input(missing_id)).raw,
               path);
  }
  // No input may name the tenant or the user.
  auto smuggled =
      query("projects.stats", owner_b, R"({"id":")" + site + R"(","tenantId":")" + acme + "\"}");
  BOOST_TEST(smuggled.status == 400u);
}

BOOST_AUTO_TEST_CASE(overview_shows_the_latest_items_the_caller_sees) {
  auto o = ok(query("projects.overview", owner, R"({"id":")" + site + R"(","limit":2})"));
  BOOST_TEST(str(o.at("project"), "id") == site);
  BOOST_TEST(str(o.at("project"), "slug") == "site");
  BOOST_TEST(o.at("project").at("githubRepo").is_null());
  const auto& notes = o.at("notes").as_array();
  BOOST_REQUIRE(notes.size() == 2u);
  // Newest first, and the member's private December note is not among them.
  BOOST_TEST(str(notes[0], "id") == member_tenant);
  BOOST_TEST(str(notes[1], "id") == owner_private);
  BOOST_TEST(str(notes[1], "visibility") == "private");
  BOOST_TEST(str(notes[0], "authorId") == member_id);
  BOOST_TEST(str(notes[0], "createdAt") == "2025-11-20T10:00:00.000Z");
  BOOST_TEST(notes[0].at("githubSha").is_null());
  const auto& docs = o.at("docs").as_array();
  BOOST_REQUIRE(docs.size() == 2u);
  BOOST_TEST(str(docs[0], "id") == doc_b);
  BOOST_TEST(str(docs[0], "excerpt") == std::string(200, 'r'));
  BOOST_TEST(!docs[0].as_object().contains("body"));
  const auto& posts = o.at("posts").as_array();
  BOOST_REQUIRE(posts.size() == 2u);
  BOOST_TEST(str(posts[0], "id") == draft);
  BOOST_TEST(str(posts[0], "status") == "draft");
  BOOST_TEST(posts[0].at("publishedAt").is_null());
  BOOST_TEST(str(posts[1], "status") == "published");
  BOOST_TEST(str(posts[1], "publishedAt") == "2025-11-30T00:00:00.000Z");
  // The published post cites the member's private note too: only its author sees that.
  BOOST_TEST(json::serialize(posts[1].at("sourceNoteIds")) == "[\"" + owner_tenant + "\"]");
  BOOST_TEST(num(o.at("stats"), "notes") == 3);

  auto m = ok(query("projects.overview", member, R"({"id":")" + site + R"(","limit":20})"));
  std::set<std::string> member_sees;
  for (const auto& n : m.at("notes").as_array()) member_sees.insert(str(n, "id"));
  BOOST_TEST((member_sees == std::set<std::string>{owner_tenant, member_tenant, member_private}));
  BOOST_TEST(m.at("posts").as_array()[1].at("sourceNoteIds").as_array().size() == 2u);

  // The default is five of each; the limit is at most 20.
  BOOST_TEST(ok(query("projects.overview", owner, id_input(site))).at("notes").as_array().size() ==
             3u);
  BOOST_TEST(query("projects.overview", owner, R"({"id":")" + site + R"(","limit":21})").status ==
             400u);
}

BOOST_AUTO_TEST_CASE(health_check_counts_and_last_activity) {
  auto h = ok(query("projects.healthCheck", owner, id_input(site)));
  BOOST_TEST(str(h, "projectId") == site);
  BOOST_TEST(num(h.at("counts"), "notes") == 3);
  BOOST_TEST(num(h.at("counts"), "docs") == 2);
  BOOST_TEST(num(h.at("counts"), "posts") == 2);
  // The newest change: doc_b, on Christmas Eve (the member's December note is not the owner's).
  BOOST_TEST(str(h, "lastActivityAt") == "2025-12-24T08:30:00.000Z");
  std::vector<std::string> names;
  for (const auto& c : h.at("checks").as_array()) names.push_back(str(c, "name"));
  // No githubRepo: no GitHub checks.
  BOOST_TEST((names == std::vector<std::string>{"provider", "content"}));
  BOOST_TEST(str(h.at("checks").as_array()[1], "status") == "ok");
}

BOOST_AUTO_TEST_CASE(health_check_provider_verdicts_follow_resolution) {
  auto provider_check = [&](const std::string& token) {
    auto h = ok(query("projects.healthCheck", token, id_input(site)));
    return h.at("checks").as_array().at(0).as_object();
  };
  ok(mutate("llmDefaults.update", owner, R"({"primary":"openai","fallback":"anthropic"})"));
  auto none = provider_check(owner);
  BOOST_TEST(none.at("name").as_string() == "provider");
  BOOST_TEST(none.at("status").as_string() == "fail");

  ok(mutate("apiKeys.create", owner,
            R"({"provider":"anthropic","name":"fallback","key":"sk-ant-tenant-0001"})"));
  auto fallback = provider_check(owner);
  BOOST_TEST(fallback.at("status").as_string() == "warn");
  BOOST_TEST(std::string{fallback.at("reason").as_string()}.find("anthropic") != std::string::npos);

  // A member's personal primary key makes the check ok for that member alone.
  ok(mutate("apiKeys.create", member,
            R"({"provider":"openai","name":"mine","key":"sk-member-0002","isPersonal":true})"));
  auto personal = provider_check(member);
  BOOST_TEST(personal.at("status").as_string() == "ok");
  BOOST_TEST(std::string{personal.at("reason").as_string()}.find("personal") != std::string::npos);
  BOOST_TEST(provider_check(owner).at("status").as_string() == "warn");
  BOOST_TEST(json::serialize(personal).find("sk-member-0002") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(health_check_warns_on_an_empty_project_and_a_missing_github_token) {
  auto empty = one("INSERT INTO projects (tenant_id, slug, name, github_repo) VALUES ('" + acme +
                   "', 'empty', 'Empty', 'acme/empty') RETURNING id");
  auto h = ok(query("projects.healthCheck", member, id_input(empty)));
  std::vector<std::string> verdicts;
  for (const auto& c : h.at("checks").as_array())
    verdicts.push_back(str(c, "name") + ":" + str(c, "status"));
  BOOST_TEST((verdicts == std::vector<std::string>{"provider:fail", "github_token:fail",
                                                   "github_repo:warn", "content:warn"}));
  BOOST_TEST(num(h.at("counts"), "notes") == 0);
  // Another member's private note is not content the caller has.
  note(colleague_id, "x", "y", "private", "2025-12-01T00:00:00Z");
  sql(conninfo(),
      "UPDATE notes SET project_id = '" + empty + "' WHERE author_id = '" + colleague_id + "'");
  auto again = ok(query("projects.healthCheck", member, id_input(empty)));
  BOOST_TEST(str(again.at("checks").as_array().back(), "status") == "warn");
  BOOST_TEST(str(ok(query("projects.healthCheck", colleague, id_input(empty)))
                     .at("checks")
                     .as_array()
                     .back(),
                 "status") == "ok");
}

BOOST_AUTO_TEST_SUITE_END()
