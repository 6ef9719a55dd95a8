// projects.*, projects.notes.*, projects.docs.*, projects.blogPosts.* against the real database:
// tenant-wide visibility with private notes, permissions, validation naming the field,
// conflicts, keyset pages, cross-tenant NOT_FOUND identical to a missing id, the blog notice,
// and the cascade of a project's deletion.
#include <libpq-fe.h>

#include <boost/test/unit_test.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/node_fixture.hpp"
#include "tests/integration/pg_fixture.hpp"
#include "tests/integration/trpc_reply.hpp"

namespace json = boost::json;
using nyxgate::testing::code_of;
using nyxgate::testing::http_reply;
using nyxgate::testing::message_of;
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
/// "n3": built by append, which GCC 12's -Wrestrict does not misread at -O3.
std::string numbered(std::string prefix, int i) {
  return prefix.append(std::to_string(i));
}
std::string quoted(const std::string& s) {
  return json::serialize(json::value(s));
}

struct two_tenants : node_fixture {
  std::string owner = seed_tenant("acme", "owner@acme.test");
  std::string member = add_user_with_token("acme", "member@acme.test", "member");
  std::string colleague = add_user_with_token("acme", "colleague@acme.test", "member");
  std::string owner_b = seed_tenant("globex", "owner@globex.test");

  json::value ok(const http_reply& r) {
    BOOST_REQUIRE_MESSAGE(r.status == 200u, r.raw);
    return data(r);
  }
  std::string project(const std::string& token, const std::string& slug,
                      const std::string& extra = {}) {
    return str(
        ok(mutate("projects.create", token,
                  R"({"slug":")" + slug + R"(","name":"Project )" + slug + "\"" + extra + "}")),
        "id");
  }
  std::string note(const std::string& token, const std::string& project_id,
                   const std::string& title, const std::string& visibility = "tenant") {
    return str(ok(mutate("projects.notes.create", token,
                         R"({"projectId":")" + project_id + R"(","title":)" + quoted(title) +
                             R"(,"body":"b","visibility":")" + visibility + "\"}")),
               "id");
  }
  std::vector<std::string> titles(const json::value& page) {
    std::vector<std::string> out;
    for (const auto& item : page.at("items").as_array()) out.push_back(str(item, "title"));
    return out;
  }
  /// Every item of a list, page by page (`limit` each), as titles.
  std::vector<std::string> walk(const std::string& path, const std::string& token,
                                const std::string& project_id, int limit) {
    std::vector<std::string> out;
    json::value cursor = nullptr;
    for (int pages = 0; pages < 100; ++pages) {
      std::string input = R"({"projectId":")" + project_id + R"(","limit":)" +
                          std::to_string(limit) + R"(,"cursor":)" + json::serialize(cursor) + "}";
      auto page = ok(query(path, token, input));
      for (auto& t : titles(page)) out.push_back(t);
      cursor = page.at("nextCursor");
      if (cursor.is_null()) return out;
    }
    BOOST_FAIL("the pages never ended");
    return out;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(projects_procedures_test, two_tenants)

BOOST_AUTO_TEST_CASE(project_round_trip_create_get_list_update_delete) {
  auto created = ok(mutate(
      "projects.create", member,
      R"({"slug":"apollo","name":"Apollo","description":"moon","githubRepo":"acme/apollo.js","blogSlug":"apollo-blog"})"));
  auto id = str(created, "id");
  BOOST_TEST(str(created, "slug") == "apollo");
  BOOST_TEST(str(created, "githubRepo") == "acme/apollo.js");
  BOOST_TEST(str(created, "blogSlug") == "apollo-blog");
  BOOST_TEST(str(created, "createdAt").back() == 'Z');
  auto got = ok(query("projects.get", colleague, R"({"id":")" + id + "\"}"));
  BOOST_TEST(json::serialize(got) == json::serialize(created));
  auto listed = ok(query("projects.list", colleague));
  BOOST_TEST(listed.at("items").as_array().size() == 1u);
  BOOST_TEST(listed.at("nextCursor").is_null());
  auto updated = ok(mutate("projects.update", colleague,
                           R"({"id":")" + id + R"(","name":"Apollo 11","githubRepo":null})"));
  BOOST_TEST(str(updated, "name") == "Apollo 11");
  BOOST_TEST(updated.at("githubRepo").is_null());
  BOOST_TEST(str(updated, "blogSlug") == "apollo-blog");
  BOOST_TEST(str(updated, "description") == "moon");
  auto deleted = ok(mutate("projects.delete", owner, R"({"id":")" + id + "\"}"));
  BOOST_TEST(str(deleted, "id") == id);
  BOOST_TEST(deleted.at("deleted").as_bool());
  auto gone = query("projects.get", owner, R"({"id":")" + id + "\"}");
  BOOST_TEST(gone.status == 404u);
  BOOST_TEST(message_of(gone) == "input.id: no such project");
}

BOOST_AUTO_TEST_CASE(members_see_each_others_data_but_not_private_notes_even_admins) {
  auto p = project(member, "shared");
  note(member, p, "public note");
  auto secret = note(member, p, "private note", "private");
  auto doc = str(ok(mutate("projects.docs.create", member,
                           R"({"projectId":")" + p + R"(","title":"Guide","body":"text"})")),
                 "id");
  for (const auto& reader : {colleague, owner}) {
    BOOST_TEST(titles(ok(query("projects.notes.list", reader, R"({"projectId":")" + p + "\"}"))) ==
                   std::vector<std::string>{"public note"},
               boost::test_tools::per_element());
    BOOST_TEST(
        titles(ok(query("projects.docs.list", reader, R"({"projectId":")" + p + "\"}"))).size() ==
        1u);
    BOOST_TEST(str(ok(query("projects.docs.get", reader, R"({"id":")" + doc + "\"}")), "body") ==
               "text");
    auto update =
        mutate("projects.notes.update", reader, R"({"id":")" + secret + R"(","title":"mine now"})");
    BOOST_TEST(update.status == 404u);
    BOOST_TEST(message_of(update) == "input.id: no such note");
    auto cite = mutate("projects.blogPosts.create", reader,
                       R"({"projectId":")" + p + R"(","title":"T","body":"B","sourceNoteIds":[")" +
                           secret + "\"]}");
    BOOST_TEST(cite.status == 404u);
    BOOST_TEST(message_of(cite) == "input.sourceNoteIds: no such note");
  }
  auto own = titles(ok(query("projects.notes.list", member, R"({"projectId":")" + p + "\"}")));
  BOOST_TEST(own == (std::vector<std::string>{"private note", "public note"}),
             boost::test_tools::per_element());
  // A post citing the private note shows that source to its author only.
  auto post = ok(mutate("projects.blogPosts.create", member,
                        R"({"projectId":")" + p + R"(","title":"T","body":"B","sourceNoteIds":[")" +
                            secret + "\"]}"));
  BOOST_TEST(post.at("sourceNoteIds").as_array().size() == 1u);
  auto seen =
      ok(query("projects.blogPosts.get", colleague, R"({"id":")" + str(post, "id") + "\"}"));
  BOOST_TEST(seen.at("sourceNoteIds").as_array().empty());
}

BOOST_AUTO_TEST_CASE(notes_are_changed_by_their_author_or_an_admin) {
  auto p = project(member, "notes");
  auto n = note(member, p, "draft");
  auto denied = mutate("projects.notes.update", colleague, R"({"id":")" + n + R"(","title":"x"})");
  BOOST_TEST(denied.status == 403u);
  BOOST_TEST(code_of(denied) == "FORBIDDEN");
  auto by_author =
      ok(mutate("projects.notes.update", member, R"({"id":")" + n + R"(","body":"new body"})"));
  BOOST_TEST(str(by_author, "body") == "new body");
  BOOST_TEST(str(by_author, "title") == "draft");
  auto by_admin = ok(mutate("projects.notes.update", owner,
                            R"({"id":")" + n + R"(","title":"edited","visibility":"private"})"));
  BOOST_TEST(str(by_admin, "title") == "edited");
  BOOST_TEST(str(by_admin, "visibility") == "private");
  BOOST_TEST(str(by_admin, "authorId") == str(by_author, "authorId"));
}

BOOST_AUTO_TEST_CASE(delete_and_publish_need_the_admin_role) {
  auto p = project(member, "roles");
  auto post = str(ok(mutate("projects.blogPosts.create", member,
                            R"({"projectId":")" + p + R"(","title":"Hello","body":"B"})")),
                  "id");
  auto publish = mutate("projects.blogPosts.publish", member, R"({"id":")" + post + "\"}");
  BOOST_TEST(publish.status == 403u);
  auto remove = mutate("projects.delete", member, R"({"id":")" + p + "\"}");
  BOOST_TEST(remove.status == 403u);
  BOOST_TEST(code_of(remove) == "FORBIDDEN");
  auto first = ok(mutate("projects.blogPosts.publish", owner, R"({"id":")" + post + "\"}"));
  BOOST_TEST(str(first, "status") == "published");
  auto again = ok(mutate("projects.blogPosts.publish", owner, R"({"id":")" + post + "\"}"));
  BOOST_TEST(str(again, "publishedAt") == str(first, "publishedAt"));
  BOOST_TEST(str(again, "updatedAt") == str(first, "updatedAt"));
}

BOOST_AUTO_TEST_CASE(another_tenants_ids_answer_exactly_as_missing_ids) {
  auto p = project(owner, "private-to-acme");
  auto n = note(owner, p, "n");
  auto doc = str(ok(mutate("projects.docs.create", owner,
                           R"({"projectId":")" + p + R"(","title":"d","body":"b"})")),
                 "id");
  auto post = str(ok(mutate("projects.blogPosts.create", owner,
                            R"({"projectId":")" + p + R"(","title":"t","body":"b"})")),
                  "id");
  struct call {
    const char* path;
    bool mutation;
    std::string input;  ///< `%` stands for the id
    std::string id;
  };
  const std::vector<call> calls{
      {"projects.get", false, R"({"id":"%"})", p},
      {"projects.update", true, R"({"id":"%","name":"x"})", p},
      {"projects.delete", true, R"({"id":"%"})", p},
      {"projects.notes.list", false, R"({"projectId":"%"})", p},
      {"projects.notes.create", true, R"({"projectId":"%","title":"t","body":"b"})", p},
      {"projects.notes.update", true, R"({"id":"%","title":"t"})", n},
      {"projects.docs.list", false, R"({"projectId":"%"})", p},
      {"projects.docs.get", false, R"({"id":"%"})", doc},
      {"projects.docs.create", true, R"({"projectId":"%","title":"t","body":"b"})", p},
      {"projects.docs.update", true, R"({"id":"%","title":"t"})", doc},
      {"projects.blogPosts.list", false, R"({"projectId":"%"})", p},
      {"projects.blogPosts.get", false, R"({"id":"%"})", post},
      {"projects.blogPosts.create", true, R"({"projectId":"%","title":"t","body":"b"})", p},
      {"projects.blogPosts.unblogged", false, R"({"projectId":"%"})", p},
      {"projects.blogPosts.publish", true, R"({"id":"%"})", post},
  };
  auto with = [](std::string input, const std::string& id) {
    input.replace(input.find('%'), 1, id);
    return input;
  };
  for (const auto& c : calls) {
    auto run = [&](const std::string& id) {
      return c.mutation ? mutate(c.path, owner_b, with(c.input, id))
                        : query(c.path, owner_b, with(c.input, id));
    };
    auto foreign = run(c.id);
    auto missing = run(missing_id);
    BOOST_TEST_CONTEXT(c.path) {
      BOOST_TEST(foreign.status == 404u);
      BOOST_TEST(foreign.status == missing.status);
      BOOST_TEST(foreign.raw == missing.raw);
    }
  }
  // Tenant A's data is untouched.
  BOOST_TEST(str(ok(query("projects.get", owner, R"({"id":")" + p + "\"}")), "name") ==
             "Project private-to-acme");
  BOOST_TEST(ok(query("projects.list", owner_b)).at("items").as_array().empty());
}

BOOST_AUTO_TEST_CASE(bad_input_is_a_bad_request_naming_the_field) {
  auto p = project(owner, "valid");
  const std::string big_body(256 * 1024 + 1, 'x');
  struct bad {
    const char* path;
    bool mutation;
    std::string input;
    const char* field;
  };
  const std::vector<bad> cases{
      {"projects.create", true, R"({"slug":"Upper","name":"n"})", "input.slug"},
      {"projects.create", true, R"({"slug":"","name":"n"})", "input.slug"},
      {"projects.create", true, R"({"slug":")" + std::string(65, 'a') + R"(","name":"n"})",
       "input.slug"},
      {"projects.create", true, R"({"slug":"ok","name":""})", "input.name"},
      {"projects.create", true, R"({"slug":"ok","name":")" + std::string(201, 'n') + "\"}",
       "input.name"},
      {"projects.create", true,
       R"({"slug":"ok","name":"n","description":")" + std::string(2001, 'd') + "\"}",
       "input.description"},
      {"projects.create", true, R"({"slug":"ok","name":"n","githubRepo":"no-slash"})",
       "input.githubRepo"},
      {"projects.create", true, R"({"slug":"ok","name":"n","githubRepo":"a/b/c"})",
       "input.githubRepo"},
      {"projects.create", true, R"({"slug":"ok","name":"n","blogSlug":"a b"})", "input.blogSlug"},
      {"projects.create", true, R"({"slug":"ok","name":"n","tenantId":")" + p + "\"}", "input"},
      {"projects.update", true, R"({"id":")" + p + R"(","blogSlug":"UP"})", "input.blogSlug"},
      {"projects.get", false, R"({"id":"not-a-uuid"})", "input.id"},
      {"projects.list", false, R"({"limit":0})", "input.limit"},
      {"projects.list", false, R"({"limit":101})", "input.limit"},
      {"projects.list", false, R"({"cursor":"bm90IGEgY3Vyc29y"})", "input.cursor"},
      {"projects.list", false, R"({"cursor":"!!"})", "input.cursor"},
      {"projects.notes.list", false, R"({"projectId":")" + p + R"(","userId":")" + p + "\"}",
       "input"},
      {"projects.notes.create", true,
       R"({"projectId":")" + p + R"(","title":"t","body":")" + big_body + "\"}", "input.body"},
      {"projects.notes.create", true,
       R"({"projectId":")" + p + R"(","title":")" + std::string(301, 't') + R"(","body":"b"})",
       "input.title"},
      {"projects.notes.create", true,
       R"({"projectId":")" + p + R"(","title":"t","body":"b","visibility":"public"})",
       "input.visibility"},
      {"projects.docs.create", true,
       R"({"projectId":")" + p + R"(","title":"t","body":")" + std::string(1024 * 1024 + 1, 'x') +
           "\"}",
       "input.body"},
      {"projects.blogPosts.create", true,
       R"({"projectId":")" + p + R"(","title":"t","body":"b","slug":"no_underscore"})",
       "input.slug"},
      {"projects.blogPosts.create", true,
       R"({"projectId":")" + p + R"(","title":"t","body":"b","sourceNoteIds":["x"]})",
       "input.sourceNoteIds"},
  };
  for (const auto& c : cases) {
    auto r = c.mutation ? mutate(c.path, owner, c.input) : query(c.path, owner, c.input);
    BOOST_TEST_CONTEXT(c.path << " " << c.input.substr(0, 120)) {
      BOOST_TEST(r.status == 400u);
      BOOST_TEST(code_of(r) == "BAD_REQUEST");
      BOOST_TEST(message_of(r).starts_with(std::string{c.field} + ":"), message_of(r));
    }
  }
  // A multi-byte body is measured in bytes: 256 KiB of 'é' is 512 KiB of UTF-8.
  std::string accents;
  for (int i = 0; i < 256 * 1024 / 2 + 1; ++i) accents += "é";
  auto wide = mutate("projects.notes.create", owner,
                     R"({"projectId":")" + p + R"(","title":"t","body":")" + accents + "\"}");
  BOOST_TEST(wide.status == 400u);
  BOOST_TEST(message_of(wide).starts_with("input.body:"));
}

BOOST_AUTO_TEST_CASE(taken_slugs_are_conflicts_naming_the_field) {
  auto p = project(owner, "taken", R"(,"blogSlug":"acme-blog")");
  auto again = mutate("projects.create", member, R"({"slug":"taken","name":"n"})");
  BOOST_TEST(again.status == 409u);
  BOOST_TEST(code_of(again) == "CONFLICT");
  BOOST_TEST(message_of(again).starts_with("input.slug:"));
  // Project slugs are per tenant; blog slugs are one public namespace.
  project(owner_b, "taken");
  auto blog =
      mutate("projects.create", owner_b, R"({"slug":"other","name":"n","blogSlug":"acme-blog"})");
  BOOST_TEST(blog.status == 409u);
  BOOST_TEST(message_of(blog).starts_with("input.blogSlug:"));
  auto second = project(owner, "second");
  auto rename = mutate("projects.update", owner, R"({"id":")" + second + R"(","slug":"taken"})");
  BOOST_TEST(rename.status == 409u);
  BOOST_TEST(message_of(rename).starts_with("input.slug:"));
  auto reblog =
      mutate("projects.update", owner, R"({"id":")" + second + R"(","blogSlug":"acme-blog"})");
  BOOST_TEST(reblog.status == 409u);
  BOOST_TEST(message_of(reblog).starts_with("input.blogSlug:"));
  // Keeping its own slugs is no conflict.
  ok(mutate("projects.update", owner,
            R"({"id":")" + p + R"(","slug":"taken","blogSlug":"acme-blog"})"));

  // Post slugs: a default one made from the title steps aside, an explicit one conflicts.
  auto post = [&](const std::string& extra) {
    return mutate(
        "projects.blogPosts.create", owner,
        R"({"projectId":")" + p + R"(","title":"Hello, World!","body":"b")" + extra + "}");
  };
  BOOST_TEST(str(ok(post("")), "slug") == "hello-world");
  BOOST_TEST(str(ok(post("")), "slug") == "hello-world-2");
  BOOST_TEST(str(ok(post("")), "slug") == "hello-world-3");
  auto explicit_taken = post(R"(,"slug":"hello-world")");
  BOOST_TEST(explicit_taken.status == 409u);
  BOOST_TEST(message_of(explicit_taken).starts_with("input.slug:"));
  BOOST_TEST(str(ok(post(R"(,"slug":"custom")")), "slug") == "custom");
}

BOOST_AUTO_TEST_CASE(pages_are_keyset_newest_first_and_stable_under_inserts) {
  auto p = project(owner, "paged");
  for (int i = 1; i <= 5; ++i) note(owner, p, numbered("n", i));
  auto first =
      ok(query("projects.notes.list", member, R"({"projectId":")" + p + R"(","limit":2})"));
  BOOST_TEST(titles(first) == (std::vector<std::string>{"n5", "n4"}),
             boost::test_tools::per_element());
  BOOST_REQUIRE(first.at("nextCursor").is_string());
  note(owner, p, "inserted between pages");
  auto second = ok(query("projects.notes.list", member,
                         R"({"projectId":")" + p + R"(","limit":2,"cursor":)" +
                             json::serialize(first.at("nextCursor")) + "}"));
  BOOST_TEST(titles(second) == (std::vector<std::string>{"n3", "n2"}),
             boost::test_tools::per_element());
  auto third = ok(query("projects.notes.list", member,
                        R"({"projectId":")" + p + R"(","limit":2,"cursor":)" +
                            json::serialize(second.at("nextCursor")) + "}"));
  BOOST_TEST(titles(third) == std::vector<std::string>{"n1"}, boost::test_tools::per_element());
  BOOST_TEST(third.at("nextCursor").is_null());

  // Rows created in the same microsecond are ordered by id and neither lost nor repeated.
  sql(conninfo(), "UPDATE notes SET created_at = '2026-01-02 03:04:05.123456+00'");
  auto all = walk("projects.notes.list", member, p, 2);
  BOOST_TEST(all.size() == 6u);
  BOOST_TEST(std::set<std::string>(all.begin(), all.end()).size() == 6u);
  // Microseconds matter: a row one microsecond older comes after, never skipped.
  sql(conninfo(),
      "UPDATE notes SET created_at = created_at - interval '1 microsecond' WHERE title = 'n1'");
  auto again = walk("projects.notes.list", member, p, 5);
  BOOST_TEST(again.size() == 6u);
  BOOST_TEST(again.back() == "n1");

  for (int i = 0; i < 3; ++i)
    ok(mutate("projects.docs.create", owner,
              R"({"projectId":")" + p + R"(","title":"d)" + std::to_string(i) + R"(","body":")" +
                  std::string(300, 'x') + "\"}"));
  auto docs = ok(query("projects.docs.list", owner, R"({"projectId":")" + p + R"(","limit":1})"));
  BOOST_TEST(str(docs.at("items").at(0), "excerpt").size() == 200u);
  BOOST_TEST(!docs.at("items").at(0).as_object().contains("body"));
  BOOST_TEST(walk("projects.docs.list", owner, p, 1).size() == 3u);
  for (int i = 0; i < 3; ++i) project(owner, numbered("more-", i));
  auto projects = ok(query("projects.list", owner, R"({"limit":3})"));
  BOOST_TEST(projects.at("items").as_array().size() == 3u);
  auto rest =
      ok(query("projects.list", owner,
               R"({"limit":3,"cursor":)" + json::serialize(projects.at("nextCursor")) + "}"));
  BOOST_TEST(rest.at("items").as_array().size() == 1u);
  BOOST_TEST(str(rest.at("items").at(0), "slug") == "paged");
}

BOOST_AUTO_TEST_CASE(unblogged_lists_the_notes_no_post_cites) {
  auto p = project(member, "blogged");
  auto other = project(member, "elsewhere");
  auto a = note(member, p, "a");
  auto b = note(member, p, "b");
  note(member, p, "c");
  auto foreign_note = note(member, other, "other project");
  auto post =
      ok(mutate("projects.blogPosts.create", colleague,
                R"({"projectId":")" + p + R"(","title":"Post","body":"B","sourceNoteIds":[")" + a +
                    R"(",")" + b + R"(",")" + a + "\"]}"));
  BOOST_TEST(str(post, "status") == "draft");
  BOOST_TEST(post.at("publishedAt").is_null());
  BOOST_TEST(post.at("sourceNoteIds") == (json::array{json::string(a), json::string(b)}));
  auto unblogged =
      ok(query("projects.blogPosts.unblogged", colleague, R"({"projectId":")" + p + "\"}"));
  BOOST_TEST(titles(unblogged) == std::vector<std::string>{"c"}, boost::test_tools::per_element());
  auto cross = mutate("projects.blogPosts.create", colleague,
                      R"({"projectId":")" + p + R"(","title":"X","body":"B","sourceNoteIds":[")" +
                          foreign_note + "\"]}");
  BOOST_TEST(cross.status == 404u);
  BOOST_TEST(message_of(cross) == "input.sourceNoteIds: no such note");
  auto posts = ok(query("projects.blogPosts.list", member, R"({"projectId":")" + p + "\"}"));
  BOOST_TEST(posts.at("items").as_array().size() == 1u);
  BOOST_TEST(str(posts.at("items").at(0), "id") == str(post, "id"));
}

BOOST_AUTO_TEST_CASE(deleting_a_project_deletes_its_data_and_nothing_else) {
  auto p = project(owner, "doomed");
  auto keep = project(owner, "kept");
  auto n = note(owner, p, "n");
  note(owner, keep, "kept note");
  auto doc = str(ok(mutate("projects.docs.create", owner,
                           R"({"projectId":")" + p + R"(","title":"d","body":"b"})")),
                 "id");
  auto post = str(ok(mutate("projects.blogPosts.create", owner,
                            R"({"projectId":")" + p +
                                R"(","title":"t","body":"b","sourceNoteIds":[")" + n + "\"]}")),
                  "id");
  ok(mutate("projects.delete", owner, R"({"id":")" + p + "\"}"));
  BOOST_TEST(query("projects.docs.get", owner, R"({"id":")" + doc + "\"}").status == 404u);
  BOOST_TEST(query("projects.blogPosts.get", owner, R"({"id":")" + post + "\"}").status == 404u);
  BOOST_TEST(query("projects.notes.list", owner, R"({"projectId":")" + p + "\"}").status == 404u);
  const std::string left =
      sql(conninfo(), "SELECT (SELECT count(*) FROM notes WHERE project_id = '" + p +
                          "') + (SELECT count(*) FROM docs WHERE project_id = '" + p +
                          "') + (SELECT count(*) FROM blog_posts WHERE project_id = '" + p +
                          "') + (SELECT count(*) FROM blog_post_sources)")[0][0];
  BOOST_TEST(left == "0");
  BOOST_TEST(titles(ok(query("projects.notes.list", owner, R"({"projectId":")" + keep + "\"}"))) ==
                 std::vector<std::string>{"kept note"},
             boost::test_tools::per_element());
  auto twice = mutate("projects.delete", owner, R"({"id":")" + p + "\"}");
  BOOST_TEST(twice.status == 404u);
}

BOOST_AUTO_TEST_CASE(blog_writes_notify_every_node_in_their_transaction) {
  PGconn* listener = PQconnectdb(conninfo().c_str());
  BOOST_REQUIRE(PQstatus(listener) == CONNECTION_OK);
  PQclear(PQexec(listener, "LISTEN nyxgate_blog_changed"));
  auto p = project(owner, "loud");
  auto post = str(ok(mutate("projects.blogPosts.create", owner,
                            R"({"projectId":")" + p + R"(","title":"t","body":"b"})")),
                  "id");
  ok(mutate("projects.notes.create", owner,
            R"({"projectId":")" + p + R"(","title":"quiet","body":"b"})"));
  ok(mutate("projects.blogPosts.publish", owner, R"({"id":")" + post + "\"}"));
  ok(mutate("projects.update", owner, R"({"id":")" + p + R"(","name":"Renamed"})"));
  ok(mutate("projects.update", owner, R"({"id":")" + p + R"(","githubRepo":"a/b"})"));
  ok(mutate("projects.delete", owner, R"({"id":")" + p + "\"}"));
  std::vector<std::string> payloads;
  for (int tries = 0; tries < 50 && payloads.size() < 3; ++tries) {
    PQclear(PQexec(listener, "SELECT 1"));
    PQconsumeInput(listener);
    while (PGnotify* n = PQnotifies(listener)) {
      payloads.emplace_back(n->extra);
      PQfreemem(n);
    }
  }
  PQfinish(listener);
  // Publish, rename, delete; not the draft, the note or the repository change.
  BOOST_TEST(payloads == (std::vector<std::string>{p, p, p}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
