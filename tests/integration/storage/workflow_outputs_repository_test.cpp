// workflow_outputs_repository against the real PostgreSQL: a workflow's draft post cites its
// sources only within its project and only notes its creator sees, concurrent posts of one
// title get distinct slugs, and a refreshed doc is overwritten only within its own tenant and
// project.
#include <boost/test/unit_test.hpp>
#include <set>
#include <thread>

#include "storage/identity_repository.hpp"
#include "storage/migrations.hpp"
#include "storage/projects_repository.hpp"
#include "storage/workflow_outputs_repository.hpp"
#include "tests/integration/pg_fixture.hpp"
#include "tests/integration/storage/storage_env.hpp"

using namespace nyxgate;
using storage::statement;
namespace outputs = storage::workflow_outputs_repository;
namespace projects = storage::projects_repository;
namespace identity_repo = storage::identity_repository;

namespace {

/// Two tenants; the first has two projects with notes and a doc each, and a second member
/// with a private note.
struct output_database {
  std::string conninfo = testing::fresh_database();
  testing::storage_env env{conninfo};
  std::string tenant, owner, member, project, other_project;
  std::string note_a, note_b, note_elsewhere, member_private_note;
  std::string doc, doc_elsewhere;
  std::string foreign_tenant, foreign_owner, foreign_project, foreign_doc;

  output_database() {
    BOOST_REQUIRE(env.db->execute_blocking(storage::migrate_batch()).ok());
    std::tie(tenant, owner) = create_tenant("acme");
    std::tie(foreign_tenant, foreign_owner) = create_tenant("other");
    auto added = identity_repo::added_member_of(
        run(identity_repo::add_member(tenant, "m@acme.test", "M", "member", std::string(64, 'c'),
                                      3600))
            .results[0]);
    BOOST_REQUIRE(added.has_value());
    member = added->user_id;
    project = create_project(tenant, owner, "alpha");
    other_project = create_project(tenant, owner, "beta");
    foreign_project = create_project(foreign_tenant, foreign_owner, "alpha");
    note_a = create_note(project, owner, "A", "tenant");
    note_b = create_note(project, owner, "B", "tenant");
    note_elsewhere = create_note(other_project, owner, "C", "tenant");
    member_private_note = create_note(project, member, "Mine", "private");
    doc = create_doc(tenant, project, "Doc");
    doc_elsewhere = create_doc(tenant, other_project, "Doc elsewhere");
    foreign_doc = create_doc(foreign_tenant, foreign_project, "Foreign doc");
  }

  std::pair<std::string, std::string> create_tenant(const std::string& slug) {
    BOOST_REQUIRE(env.db
                      ->execute_blocking(identity_repo::create_tenant_with_owner(
                          slug, slug, "owner@" + slug + ".test", "Owner",
                          std::string(64, slug[0] == 'a' ? 'a' : 'b')))
                      .ok());
    auto ids = testing::sql(conninfo,
                            "SELECT m.tenant_id, m.user_id FROM memberships m JOIN tenants t ON "
                            "t.id = m.tenant_id WHERE t.slug = '" +
                                slug + "'");
    return {ids.at(0).at(0), ids.at(0).at(1)};
  }

  std::string create_project(const std::string& t, const std::string& user,
                             const std::string& slug) {
    projects::new_project p{t, user, slug, slug, "", std::nullopt, std::nullopt};
    return projects::project_rows(run(projects::create_project(p)).results[0]).at(0).id;
  }

  std::string create_note(const std::string& p, const std::string& author, const std::string& title,
                          const std::string& visibility) {
    projects::new_note n{tenant, p, author, title, "body of " + title, visibility};
    return projects::note_rows(run(projects::create_note(n)).results[0]).at(0).id;
  }

  std::string create_doc(const std::string& t, const std::string& p, const std::string& title) {
    projects::new_doc d{t, p, std::nullopt, title, "original body"};
    return projects::doc_rows(run(projects::create_doc(d)).results[0]).at(0).id;
  }

  storage::db_reply run(statement st) { return run_batch(storage::single(std::move(st))); }

  storage::db_reply run_batch(storage::db_batch batch) {
    auto r = env.db->execute_blocking(std::move(batch), std::chrono::seconds(10));
    BOOST_REQUIRE_MESSAGE(r.ok(), r.message);
    return r;
  }

  /// The engine's way: the slug lock and the insert in one transaction.
  std::optional<std::string> write_post(outputs::draft_post p) {
    storage::db_batch batch;
    batch.transaction = true;
    batch.statements.push_back(outputs::lock_post_slugs(p.tenant_id, p.project_id));
    batch.statements.push_back(outputs::insert_draft_post(p));
    return outputs::product_id(run_batch(std::move(batch)).results.back());
  }

  outputs::draft_post post(std::vector<std::string> sources) {
    return {tenant,      project,           owner, "Weekly update: leases & failover",
            "The body.", std::move(sources)};
  }

  std::vector<std::vector<std::string>> rows(const std::string& query) {
    return testing::sql(conninfo, query);
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(workflow_outputs_repository_test, output_database)

BOOST_AUTO_TEST_CASE(a_draft_post_cites_its_sources_in_its_project) {
  auto id = write_post(post({note_b, note_a, note_a, "not-a-uuid"}));
  BOOST_REQUIRE(id.has_value());
  auto stored = rows(
      "SELECT project_id, slug, title, body, published_at IS NULL, created_by "
      "FROM blog_posts WHERE id = '" +
      *id + "'");
  BOOST_REQUIRE_EQUAL(stored.size(), 1u);
  BOOST_TEST(stored[0][0] == project);
  BOOST_TEST(stored[0][1] == "weekly-update-leases-failover");
  BOOST_TEST(stored[0][2] == "Weekly update: leases & failover");
  BOOST_TEST(stored[0][3] == "The body.");
  BOOST_TEST(stored[0][4] == "t");  // a draft
  BOOST_TEST(stored[0][5] == owner);
  auto sources = rows("SELECT note_id, project_id FROM blog_post_sources WHERE post_id = '" + *id +
                      "' ORDER BY note_id");
  std::set<std::string> cited;
  for (const auto& s : sources) {
    cited.insert(s[0]);
    BOOST_TEST(s[1] == project);
  }
  BOOST_TEST((cited == std::set<std::string>{note_a, note_b}));
}

BOOST_AUTO_TEST_CASE(a_source_of_another_project_or_hidden_from_the_creator_writes_nothing) {
  BOOST_TEST(!write_post(post({note_a, note_elsewhere})).has_value());
  BOOST_TEST(!write_post(post({note_a, member_private_note})).has_value());
  auto gone = post({note_a});
  gone.project_id = foreign_project;  // another tenant's project id
  BOOST_TEST(!write_post(gone).has_value());
  BOOST_TEST(rows("SELECT count(*) FROM blog_posts").at(0).at(0) == "0");
  BOOST_TEST(rows("SELECT count(*) FROM blog_post_sources").at(0).at(0) == "0");

  auto by_member = post({note_a, member_private_note});
  by_member.created_by = member;  // the author sees their private note
  BOOST_TEST(write_post(by_member).has_value());
}

BOOST_AUTO_TEST_CASE(a_post_of_a_creator_who_left_cites_tenant_notes_only) {
  auto orphan = post({note_a});
  orphan.created_by = std::nullopt;
  auto id = write_post(orphan);
  BOOST_REQUIRE(id.has_value());
  BOOST_TEST(rows("SELECT created_by FROM blog_posts WHERE id = '" + *id + "'").at(0).at(0) == "");
  orphan.source_note_ids.push_back(member_private_note);
  BOOST_TEST(!write_post(orphan).has_value());
}

BOOST_AUTO_TEST_CASE(concurrent_posts_of_one_title_get_distinct_slugs) {
  constexpr int per_thread = 4;
  std::vector<std::optional<std::string>> ids(2 * per_thread);
  auto writer = [&](int first) {
    for (int i = 0; i < per_thread; ++i) {
      storage::db_batch batch;
      batch.transaction = true;
      auto p = post({note_a});
      batch.statements.push_back(outputs::lock_post_slugs(p.tenant_id, p.project_id));
      batch.statements.push_back(outputs::insert_draft_post(p));
      auto r = env.db->execute_blocking(std::move(batch), std::chrono::seconds(10));
      if (r.ok()) ids[first + i] = outputs::product_id(r.results.back());
    }
  };
  std::thread a{writer, 0};
  std::thread b{writer, per_thread};
  a.join();
  b.join();
  for (const auto& id : ids) BOOST_TEST(id.has_value());
  auto slugs = rows("SELECT count(DISTINCT slug), count(*) FROM blog_posts");
  BOOST_TEST(slugs.at(0).at(0) == std::to_string(2 * per_thread));
  BOOST_TEST(slugs.at(0).at(1) == std::to_string(2 * per_thread));
}

BOOST_AUTO_TEST_CASE(a_new_doc_is_written_in_its_project) {
  auto id = outputs::product_id(
      run(outputs::write_doc({tenant, project, owner, "Key points: X", "- a point", std::nullopt}))
          .results[0]);
  BOOST_REQUIRE(id.has_value());
  BOOST_TEST(*id != doc);
  auto stored = rows(
      "SELECT tenant_id, project_id, title, body, created_by FROM docs WHERE id = '" + *id + "'");
  BOOST_REQUIRE_EQUAL(stored.size(), 1u);
  BOOST_TEST(stored[0][0] == tenant);
  BOOST_TEST(stored[0][1] == project);
  BOOST_TEST(stored[0][2] == "Key points: X");
  BOOST_TEST(stored[0][3] == "- a point");
  BOOST_TEST(stored[0][4] == owner);
}

BOOST_AUTO_TEST_CASE(a_refreshed_doc_keeps_its_id_and_gets_the_new_text) {
  auto id = outputs::product_id(
      run(outputs::write_doc({tenant, project, owner, "Refreshed", "new body", doc})).results[0]);
  BOOST_REQUIRE(id.has_value());
  BOOST_TEST(*id == doc);
  auto stored =
      rows("SELECT title, body, updated_at > created_at FROM docs WHERE id = '" + doc + "'");
  BOOST_TEST(stored.at(0).at(0) == "Refreshed");
  BOOST_TEST(stored.at(0).at(1) == "new body");
  BOOST_TEST(stored.at(0).at(2) == "t");
  BOOST_TEST(rows("SELECT count(*) FROM docs").at(0).at(0) == "3");
}

BOOST_AUTO_TEST_CASE(another_tenants_or_projects_doc_is_never_refreshed) {
  for (const auto& target : {foreign_doc, doc_elsewhere, std::string{"not-a-uuid"}}) {
    auto r = run(outputs::write_doc({tenant, project, owner, "Hijack", "overwritten", target}));
    BOOST_TEST(!outputs::product_id(r.results[0]).has_value(), target);
  }
  auto untouched = rows("SELECT title, body FROM docs ORDER BY title");
  BOOST_REQUIRE_EQUAL(untouched.size(), 3u);
  for (const auto& d : untouched) {
    BOOST_TEST(d[0] != "Hijack");
    BOOST_TEST(d[1] == "original body");
  }
}

BOOST_AUTO_TEST_SUITE_END()
