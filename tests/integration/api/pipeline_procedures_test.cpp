// pipelines.create|get|list|rerun|cancel and projects.blogPosts.generate against the real
// database: the items each kind makes, only the notes the creator sees, validation naming the
// field, another tenant's run answering exactly as a missing one, rerun and cancel touching only
// the items they should.
#include <boost/test/unit_test.hpp>
#include <chrono>
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

std::string str(const json::value& v, std::string_view k) {
  return std::string{v.at(k).as_string()};
}
std::string quoted(const std::string& s) {
  return json::serialize(json::value(s));
}
std::int64_t count(const json::value& run, std::string_view status) {
  return run.at("counts").at(status).as_int64();
}

/// The node's engine claims nothing (no room): the tests play the engine with SQL.
struct pipelines_world : node_fixture {
  pipelines_world()
      : node_fixture([](nyxgate::config::settings& s) { s.workflows.node_concurrency = 0; }) {}

  std::string owner = seed_tenant("acme", "owner@acme.test");
  std::string member = add_user_with_token("acme", "member@acme.test", "member");
  std::string owner_b = seed_tenant("globex", "owner@globex.test");
  std::string project = make_project(owner, "site");
  std::string owner_note = note(owner, "owner tenant note", "tenant");
  std::string owner_private = note(owner, "owner private note", "private");
  std::string member_private = note(member, "member private note", "private");
  std::string doc = make_doc("Guide", "# Guide\n\nHow it works.");

  json::value ok(const http_reply& r) {
    BOOST_REQUIRE_MESSAGE(r.status == 200u, r.raw);
    return r.body.at("result").at("data");
  }
  std::string make_project(const std::string& token, const std::string& slug) {
    return str(ok(mutate("projects.create", token,
                         R"({"slug":")" + slug + R"(","name":"Project )" + slug + "\"}")),
               "id");
  }
  std::string note(const std::string& token, const std::string& title,
                   const std::string& visibility) {
    return str(
        ok(mutate("projects.notes.create", token,
                  R"({"projectId":")" + project + R"(","title":)" + quoted(title) + R"(,"body":)" +
                      quoted(title + " body") + R"(,"visibility":")" + visibility + "\"}")),
        "id");
  }
  std::string make_doc(const std::string& title, const std::string& body) {
    return str(ok(mutate("projects.docs.create", owner,
                         R"({"projectId":")" + project + R"(","title":)" + quoted(title) +
                             R"(,"body":)" + quoted(body) + "}")),
               "id");
  }
  http_reply create(const std::string& token, const std::string& kind, const std::string& input,
                    const std::string& project_id = {}) {
    return mutate("pipelines.create", token,
                  R"({"projectId":")" + (project_id.empty() ? project : project_id) +
                      R"(","kind":")" + kind + R"(","input":)" + input + "}");
  }
  /// The run's items' inputs, in position order.
  std::vector<json::value> items(const std::string& run_id) {
    std::vector<json::value> out;
    for (const auto& row :
         sql(conninfo(), "SELECT input::text FROM pipeline_items WHERE run_id = '" + run_id +
                             "' ORDER BY position"))
      out.push_back(json::parse(row[0]));
    return out;
  }
  /// The ids of an item's notes.
  static std::vector<std::string> note_ids(const json::value& item) {
    std::vector<std::string> out;
    for (const auto& n : item.at("notes").as_array()) out.push_back(str(n, "id"));
    return out;
  }
  std::string by_id(const std::string& id) { return R"({"id":")" + id + "\"}"; }
  /// A running run of `n` items all leased by another node for an hour, so that no engine
  /// touches it, even another node's.
  std::string leased_run(int n) {
    auto id = sql(conninfo(),
                  "INSERT INTO pipeline_runs (tenant_id, project_id, kind) "
                  "SELECT tenant_id, id, 'docs' FROM projects WHERE id = '" +
                      project + "' RETURNING id")[0][0];
    sql(conninfo(),
        "INSERT INTO pipeline_items (tenant_id, run_id, position, input, status, "
        "owner, lease_until) SELECT r.tenant_id, r.id, g, '{}', 'running', "
        "'elsewhere', now() + interval '1 hour' FROM pipeline_runs r, "
        "generate_series(0, " +
            std::to_string(n - 1) + ") g WHERE r.id = '" + id + "'");
    return id;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(pipeline_procedures_test, pipelines_world)

BOOST_AUTO_TEST_CASE(blog_generate_takes_the_unblogged_notes_the_caller_sees) {
  // A post citing the owner's tenant note makes it blogged.
  ok(mutate("projects.blogPosts.create", owner,
            R"({"projectId":")" + project + R"(","title":"Old","body":"b","sourceNoteIds":[")" +
                owner_note + "\"]}"));
  auto fresh = note(owner, "fresh note", "tenant");
  auto run =
      ok(mutate("projects.blogPosts.generate", owner, R"({"projectId":")" + project + "\"}"));
  BOOST_TEST(str(run, "kind") == "blog");
  BOOST_TEST(str(run, "status") == "running");
  BOOST_TEST(str(run, "projectId") == project);
  BOOST_TEST(run.at("finishedAt").is_null());
  BOOST_TEST(count(run, "pending") == 1);
  auto list = items(str(run, "id"));
  BOOST_REQUIRE(list.size() == 1u);
  // Oldest first; the member's private note and the blogged note are not there.
  BOOST_TEST(note_ids(list[0]) == (std::vector<std::string>{owner_private, fresh}),
             boost::test_tools::per_element());
  BOOST_TEST(str(list[0].at("notes").at(1), "body") == "fresh note body");
  BOOST_TEST(str(list[0].at("notes").at(1), "title") == "fresh note");

  // The member's run has the member's private note and not the owner's.
  auto theirs =
      ok(mutate("projects.blogPosts.generate", member, R"({"projectId":")" + project + "\"}"));
  BOOST_TEST(
      note_ids(items(str(theirs, "id"))[0]) == (std::vector<std::string>{member_private, fresh}),
      boost::test_tools::per_element());

  // The same through pipelines.create, with a selection.
  auto chosen = ok(create(owner, "blog", R"({"noteIds":[")" + owner_note + "\"]}"));
  BOOST_TEST(note_ids(items(str(chosen, "id"))[0]) == std::vector<std::string>{owner_note},
             boost::test_tools::per_element());
  // The run context names the project and carries the template in force.
  auto context = sql(conninfo(), "SELECT input::text FROM pipeline_runs WHERE id = '" +
                                     str(chosen, "id") + "'")[0][0];
  BOOST_TEST(context.find("Project site") != std::string::npos, context);
}

BOOST_AUTO_TEST_CASE(another_members_private_note_is_missing_to_a_selection) {
  auto hidden =
      mutate("projects.blogPosts.generate", owner,
             R"({"projectId":")" + project + R"(","noteIds":[")" + member_private + "\"]}");
  auto missing = mutate("projects.blogPosts.generate", owner,
                        R"({"projectId":")" + project + R"(","noteIds":[")" + missing_id + "\"]}");
  BOOST_TEST(hidden.status == 404u, hidden.raw);
  BOOST_TEST(hidden.raw == missing.raw);
  BOOST_TEST(message_of(hidden) == "input.noteIds: no such note");
  auto docs = create(owner, "docs", R"({"noteIds":[")" + member_private + "\"]}");
  auto docs_missing = create(owner, "docs", R"({"noteIds":[")" + std::string{missing_id} + "\"]}");
  BOOST_TEST(docs.raw == docs_missing.raw);
  BOOST_TEST(message_of(docs) == "input.input.noteIds: no such note");
  // A note of another project is missing too.
  auto other = make_project(owner, "other");
  auto run = mutate("projects.blogPosts.generate", owner,
                    R"({"projectId":")" + other + R"(","noteIds":[")" + owner_note + "\"]}");
  BOOST_TEST(run.raw == missing.raw);
  BOOST_TEST(sql(conninfo(), "SELECT count(*) FROM pipeline_runs")[0][0] == "0");
}

BOOST_AUTO_TEST_CASE(docs_makes_one_item_for_the_notes_and_one_per_doc_to_refresh) {
  auto all = ok(create(owner, "docs", "{}"));
  auto list = items(str(all, "id"));
  BOOST_REQUIRE(list.size() == 1u);
  BOOST_TEST(note_ids(list[0]) == (std::vector<std::string>{owner_note, owner_private}),
             boost::test_tools::per_element());
  BOOST_TEST(!list[0].as_object().contains("docId"));

  auto second = make_doc("Second", "second body");
  auto refresh = ok(create(
      owner, "docs",
      R"({"noteIds":[")" + owner_note + R"("],"docIds":[")" + doc + R"(",")" + second + "\"]}"));
  BOOST_TEST(count(refresh, "pending") == 3);
  list = items(str(refresh, "id"));
  BOOST_REQUIRE(list.size() == 3u);
  BOOST_TEST(note_ids(list[0]) == std::vector<std::string>{owner_note},
             boost::test_tools::per_element());
  BOOST_TEST(str(list[1], "docId") == doc);
  BOOST_TEST(str(list[1], "doc") == "# Guide\n\nHow it works.");
  BOOST_TEST(str(list[1], "title") == "Guide");
  BOOST_TEST(note_ids(list[1]) == std::vector<std::string>{owner_note},
             boost::test_tools::per_element());
  BOOST_TEST(str(list[2], "docId") == second);

  // Only docs to refresh: no new doc, the notes the caller sees as material.
  auto only = ok(create(member, "docs", R"({"docIds":[")" + doc + "\"]}"));
  list = items(str(only, "id"));
  BOOST_REQUIRE(list.size() == 1u);
  BOOST_TEST(str(list[0], "docId") == doc);
  BOOST_TEST(note_ids(list[0]) == (std::vector<std::string>{owner_note, member_private}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(key_points_and_translate_take_one_doc) {
  auto points = ok(create(owner, "keyPoints", R"({"docId":")" + doc + "\"}"));
  BOOST_TEST(str(points, "kind") == "keyPoints");
  auto list = items(str(points, "id"));
  BOOST_REQUIRE(list.size() == 1u);
  const json::value expected{
      {"docId", doc}, {"title", "Guide"}, {"doc", "# Guide\n\nHow it works."}};
  BOOST_TEST((list[0] == expected), json::serialize(list[0]));
  auto french =
      ok(create(member, "translate", R"({"docId":")" + doc + R"(","language":"French"})"));
  BOOST_TEST(str(french, "kind") == "translate");
  BOOST_TEST(items(str(french, "id")).size() == 1u);
  auto context = sql(conninfo(), "SELECT input::text FROM pipeline_runs WHERE id = '" +
                                     str(french, "id") + "'")[0][0];
  BOOST_TEST(context.find("French") != std::string::npos, context);
}

BOOST_AUTO_TEST_CASE(inputs_are_checked_per_kind) {
  auto bad = [&](const http_reply& r, const std::string& message) {
    BOOST_TEST(r.status == 400u, r.raw);
    BOOST_TEST(code_of(r) == "BAD_REQUEST");
    BOOST_TEST(message_of(r).find(message) == 0u, message_of(r) << " vs " << message);
  };
  bad(create(owner, "poem", "{}"), "input.kind");
  bad(create(owner, "keyPoints", "{}"), "input.input.docId");
  bad(create(owner, "keyPoints", "null"), "input.input");
  bad(create(owner, "translate", R"({"docId":")" + doc + "\"}"), "input.input.language");
  bad(create(owner, "translate",
             R"({"docId":")" + doc + R"(","language":")" + std::string(65, 'x') + "\"}"),
      "input.input.language");
  bad(create(owner, "blog", R"({"noteIds":"all"})"), "input.input.noteIds");
  bad(create(owner, "blog", R"({"docIds":[]})"), "input.input: unknown");
  bad(create(owner, "docs", R"({"docIds":["nope"]})"), "input.input.docIds");
  bad(create(owner, "blog", "[]"), "input.input");
  bad(mutate("projects.blogPosts.generate", owner,
             R"({"projectId":")" + project + R"(","noteIds":[1]})"),
      "input.noteIds");
  bad(query("pipelines.get", owner, "{}"), "input.id");
  bad(query("pipelines.list", owner, R"({"limit":0})"), "input.limit");

  auto missing_doc = create(owner, "keyPoints", R"({"docId":")" + std::string{missing_id} + "\"}");
  BOOST_TEST(missing_doc.status == 404u);
  BOOST_TEST(message_of(missing_doc) == "input.input.docId: no such doc");

  // Nothing to write from.
  auto empty = make_project(owner, "empty");
  auto nothing = mutate("projects.blogPosts.generate", owner, R"({"projectId":")" + empty + "\"}");
  BOOST_TEST(nothing.status == 412u, nothing.raw);
  BOOST_TEST(code_of(nothing) == "PRECONDITION_FAILED");
  BOOST_TEST(code_of(create(owner, "docs", "{}", empty)) == "PRECONDITION_FAILED");
}

BOOST_AUTO_TEST_CASE(another_tenants_run_answers_as_a_missing_one) {
  auto run = ok(create(owner, "docs", "{}"));
  auto id = str(run, "id");
  for (const char* path : {"pipelines.get", "pipelines.rerun", "pipelines.cancel"}) {
    const bool q = std::string{path} == "pipelines.get";
    auto theirs = q ? query(path, owner_b, by_id(id)) : mutate(path, owner_b, by_id(id));
    auto missing =
        q ? query(path, owner_b, by_id(missing_id)) : mutate(path, owner_b, by_id(missing_id));
    BOOST_TEST(theirs.status == 404u, path << ": " << theirs.raw);
    BOOST_TEST(theirs.raw == missing.raw, path);
    BOOST_TEST(message_of(theirs) == "input.id: no such run");
  }
  auto foreign = create(owner_b, "docs", "{}");
  BOOST_TEST(foreign.status == 404u);
  BOOST_TEST(message_of(foreign) == "input.projectId: no such project");
  auto foreign_list = query("pipelines.list", owner_b, R"({"projectId":")" + project + "\"}");
  BOOST_TEST(message_of(foreign_list) == "input.projectId: no such project");
  BOOST_TEST(ok(query("pipelines.list", owner_b)).at("items").as_array().empty());
  // B's cancel left A's run running.
  BOOST_TEST(str(ok(query("pipelines.get", member, by_id(id))), "status") == "running");
}

BOOST_AUTO_TEST_CASE(list_pages_newest_first_and_filters_by_project) {
  auto other = make_project(owner, "other");
  sql(conninfo(),
      "INSERT INTO notes (tenant_id, project_id, author_id, title, body) "
      "SELECT tenant_id, '" +
          other + "', created_by, 'n', 'b' FROM projects WHERE id = '" + other + "'");
  std::vector<std::string> made;
  for (int i = 0; i < 5; ++i) made.push_back(str(ok(create(owner, "docs", "{}")), "id"));
  auto elsewhere = str(ok(create(owner, "docs", "{}", other)), "id");
  std::vector<std::string> seen;
  json::value cursor = nullptr;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = ok(query("pipelines.list", member,
                         R"({"projectId":")" + project + R"(","limit":2,"cursor":)" +
                             json::serialize(cursor) + "}"));
    for (const auto& r : page.at("items").as_array()) seen.push_back(str(r, "id"));
    cursor = page.at("nextCursor");
    if (cursor.is_null()) break;
  }
  BOOST_TEST(seen == std::vector<std::string>(made.rbegin(), made.rend()),
             boost::test_tools::per_element());
  auto everything = ok(query("pipelines.list", member, R"({"limit":100})"));
  BOOST_TEST(everything.at("items").as_array().size() == 6u);
  BOOST_TEST(str(everything.at("items").at(0), "id") == elsewhere);
  BOOST_TEST(count(everything.at("items").at(0), "pending") == 1);
}

BOOST_AUTO_TEST_CASE(rerun_puts_back_only_pending_failed_and_truncated_items) {
  auto second = make_doc("Second", "b");
  auto third = make_doc("Third", "b");
  auto fourth = make_doc("Fourth", "b");
  auto run = ok(create(owner, "docs",
                       R"({"noteIds":[")" + owner_note + R"("],"docIds":[")" + doc + R"(",")" +
                           second + R"(",")" + third + R"(",")" + fourth + R"("]})"));
  auto id = str(run, "id");
  BOOST_TEST(count(run, "pending") == 5);
  // The engine's outcomes, written by hand.
  sql(conninfo(),
      "UPDATE pipeline_runs SET status = 'failed', finished_at = now() WHERE id = '" + id +
          "';"
          "UPDATE pipeline_items SET attempts = 2, status = CASE position "
          "WHEN 0 THEN 'done' WHEN 1 THEN 'failed' WHEN 2 THEN 'truncated' WHEN 3 THEN 'cancelled' "
          "ELSE 'pending' END, error = CASE position WHEN 1 THEN 'upstream failed' END, "
          "partial = CASE position WHEN 2 THEN 'half' END WHERE run_id = '" +
          id + "'");
  auto got = ok(query("pipelines.get", member, by_id(id)));
  BOOST_TEST(str(got, "status") == "failed");
  BOOST_TEST(count(got, "done") == 1);
  BOOST_TEST(count(got, "failed") == 1);
  BOOST_TEST(count(got, "truncated") == 1);
  BOOST_TEST(count(got, "cancelled") == 1);
  BOOST_TEST(count(got, "pending") == 1);

  auto again = ok(mutate("pipelines.rerun", member, by_id(id)));
  BOOST_TEST(str(again, "status") == "running");
  BOOST_TEST(again.at("finishedAt").is_null());
  BOOST_TEST(count(again, "pending") == 3);
  BOOST_TEST(count(again, "done") == 1);
  BOOST_TEST(count(again, "cancelled") == 1);
  // Attempts are kept; the failure and the partial answer are gone with the items' status.
  auto rows = sql(conninfo(),
                  "SELECT position, attempts, coalesce(error, ''), "
                  "coalesce(partial, '') FROM pipeline_items WHERE run_id = '" +
                      id + "' AND position IN (1, 2) ORDER BY position");
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[0][1] == "2");
  BOOST_TEST(rows[0][2] == "");
  BOOST_TEST(rows[1][3] == "");

  // A run with nothing to run again stays as it is.
  sql(conninfo(), "UPDATE pipeline_items SET status = 'done' WHERE run_id = '" + id +
                      "'; UPDATE pipeline_runs SET status = 'done', finished_at = now() "
                      "WHERE id = '" +
                      id + "'");
  auto done = ok(mutate("pipelines.rerun", owner, by_id(id)));
  BOOST_TEST(str(done, "status") == "done");
  BOOST_TEST(count(done, "done") == 5);
}

BOOST_AUTO_TEST_CASE(cancel_marks_the_unfinished_items_and_leaves_done_ones) {
  auto second = make_doc("Second", "b");
  auto run = ok(create(
      owner, "docs",
      R"({"noteIds":[")" + owner_note + R"("],"docIds":[")" + doc + R"(",")" + second + R"("]})"));
  auto id = str(run, "id");
  sql(conninfo(),
      "UPDATE pipeline_items SET status = CASE position WHEN 0 THEN 'done' "
      "WHEN 1 THEN 'running' ELSE 'truncated' END WHERE run_id = '" +
          id + "'");
  auto cancelled = ok(mutate("pipelines.cancel", member, by_id(id)));
  BOOST_TEST(str(cancelled, "status") == "cancelled");
  BOOST_TEST(!cancelled.at("finishedAt").is_null());
  BOOST_TEST(count(cancelled, "done") == 1);
  BOOST_TEST(count(cancelled, "cancelled") == 2);
  BOOST_TEST(count(cancelled, "running") == 0);
  auto leases = sql(conninfo(), "SELECT count(*) FROM pipeline_items WHERE run_id = '" + id +
                                    "' AND (owner IS NOT NULL OR lease_until IS NOT NULL)");
  BOOST_TEST(leases[0][0] == "0");

  // A finished run is not cancelled after the fact.
  auto finished = ok(create(owner, "keyPoints", R"({"docId":")" + doc + "\"}"));
  auto fid = str(finished, "id");
  sql(conninfo(), "UPDATE pipeline_items SET status = 'done' WHERE run_id = '" + fid +
                      "'; UPDATE pipeline_runs SET status = 'done', finished_at = now() "
                      "WHERE id = '" +
                      fid + "'");
  auto late = ok(mutate("pipelines.cancel", owner, by_id(fid)));
  BOOST_TEST(str(late, "status") == "done");
  BOOST_TEST(count(late, "done") == 1);
}

BOOST_AUTO_TEST_CASE(on_progress_streams_the_run_until_it_ends) {
  auto id = leased_run(3);
  auto events = subscribe("pipelines.onProgress", member, R"({"runId":")" + id + "\"}");
  BOOST_REQUIRE(events);
  auto next_run = [&] {
    for (;;) {
      auto ev = events->next(std::chrono::seconds(10));
      BOOST_REQUIRE_MESSAGE(ev, "no event");
      if (ev->name == "ping") continue;
      BOOST_REQUIRE_MESSAGE(ev->name.empty(), "event " << ev->name << ": " << ev->data);
      return json::parse(ev->data);
    }
  };
  auto connected = events->next(std::chrono::seconds(10));
  BOOST_REQUIRE(connected);
  BOOST_TEST(connected->name == "connected");
  auto first = next_run();
  BOOST_TEST(str(first, "id") == id);
  BOOST_TEST(count(first, "running") == 3);

  // What the engine does, written by hand.
  auto notify = "; NOTIFY nyxgate_pipeline_progress, '" + id + "'";
  sql(conninfo(), "UPDATE pipeline_items SET status = 'done' WHERE position = 0 AND run_id = '" +
                      id + "'" + notify);
  auto one_done = next_run();
  BOOST_TEST(count(one_done, "done") == 1);
  BOOST_TEST(count(one_done, "running") == 2);

  // A burst of notices: the runs streamed are the changes, never the same run twice.
  sql(conninfo(),
      "UPDATE pipeline_items SET status = 'failed' WHERE position = 1 AND "
      "run_id = '" +
          id + "'" + notify + notify + notify);
  auto failed = next_run();
  BOOST_TEST(count(failed, "failed") == 1);
  sql(conninfo(), "UPDATE pipeline_items SET status = 'done' WHERE position = 2 AND run_id = '" +
                      id +
                      "'; UPDATE pipeline_runs SET status = 'failed', finished_at = now() "
                      "WHERE id = '" +
                      id + "'" + notify);
  auto last = next_run();
  BOOST_TEST(str(last, "status") == "failed");
  BOOST_TEST(count(last, "done") == 2);
  BOOST_TEST(!last.at("finishedAt").is_null());
  auto end = events->next(std::chrono::seconds(10));
  BOOST_REQUIRE(end);
  BOOST_TEST(end->name == "return");
  BOOST_TEST(!events->next(std::chrono::seconds(2)));
  BOOST_TEST(events->finished());

  // A finished run: its state, then the end.
  auto done = query("pipelines.onProgress", owner, R"({"runId":")" + id + "\"}");
  BOOST_TEST(done.status == 200u, done.raw);
  BOOST_TEST(done.body.at("result").at("data").as_array().size() == 1u, done.raw);
  BOOST_TEST(done.raw.find("event: return") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(on_progress_of_another_tenants_run_is_a_missing_run) {
  auto id = str(ok(create(owner, "docs", "{}")), "id");
  auto theirs = query("pipelines.onProgress", owner_b, R"({"runId":")" + id + "\"}");
  auto missing =
      query("pipelines.onProgress", owner_b, R"({"runId":")" + std::string{missing_id} + "\"}");
  BOOST_TEST(theirs.status == 404u, theirs.raw);
  BOOST_TEST(theirs.raw == missing.raw);
  BOOST_TEST(message_of(theirs) == "input.runId: no such run");
  BOOST_TEST(theirs.raw.find("event: serialized-error") != std::string::npos, theirs.raw);
  BOOST_TEST(code_of(query("pipelines.onProgress", owner, "{}")) == "BAD_REQUEST");
  BOOST_TEST(code_of(query("pipelines.onProgress", "", R"({"runId":")" + id + "\"}")) ==
             "UNAUTHORIZED");
  // Not a query or mutation: POST is refused, and no batch holds it.
  auto post = mutate("pipelines.onProgress", owner, R"({"runId":")" + id + "\"}");
  BOOST_TEST(post.status == 405u, post.raw);
  auto batch = request("GET",
                       "/trpc/pipelines.onProgress,pipelines.get?batch=1&input=" +
                           nyxgate::testing::url_encode(R"({"0":{"runId":")" + id +
                                                        R"("},"1":{"id":")" + id + "\"}}"),
                       owner);
  BOOST_TEST(batch.raw.find("Cannot batch subscription calls") != std::string::npos, batch.raw);
}

BOOST_AUTO_TEST_CASE(a_subscriber_that_leaves_is_forgotten) {
  auto id = leased_run(1);
  auto events = subscribe("pipelines.onProgress", owner, R"({"runId":")" + id + "\"}");
  BOOST_REQUIRE(events);
  BOOST_TEST(events->next(std::chrono::seconds(10))->name == "connected");
  BOOST_TEST(events->next(std::chrono::seconds(10)).has_value());
  events->close();
  // Notices after the client left write nothing and end nothing.
  sql(conninfo(), "UPDATE pipeline_items SET status = 'done' WHERE run_id = '" + id +
                      "'; NOTIFY nyxgate_pipeline_progress, '" + id + "'");
  BOOST_TEST(!events->next(std::chrono::milliseconds(500)));
  BOOST_TEST(!events->finished());
}

BOOST_AUTO_TEST_SUITE_END()
