// The public blog pages against the real database: published posts only, ETag and 304, the
// 404 page, pages served from memory (no query per view, one load for concurrent misses),
// and invalidation by NOTIFY on every node.
#include <boost/test/unit_test.hpp>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "net/http/types.hpp"
#include "telemetry/metrics.hpp"
#include "tests/integration/eventually.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/integration/pg_fixture.hpp"

using nyxgate::testing::eventually;
using nyxgate::testing::node_fixture;
using nyxgate::testing::sql;
namespace net = nyxgate::net;

namespace {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// The response as the handler gives it to the session, headers included.
net::http_response call(node_fixture& node, const std::string& method, const std::string& target,
                        header_list headers = {}) {
  net::http_request req;
  req.method = method;
  req.target = target;
  req.headers = std::move(headers);
  req.request_id = "blog-test";
  req.received_at = std::chrono::steady_clock::now();
  auto promise = std::make_shared<std::promise<net::http_response>>();
  auto future = promise->get_future();
  node.node().handler()(std::move(req),
                        [promise](net::http_response r) { promise->set_value(std::move(r)); });
  BOOST_REQUIRE(future.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  return future.get();
}

net::http_response get(node_fixture& node, const std::string& target, header_list headers = {}) {
  return call(node, "GET", target, std::move(headers));
}

/// The value of a header line the page rendered (`Name: value\r\n`).
std::string head_line(const net::http_response& r, std::string_view name) {
  auto at = r.head_lines.find(std::string{name} + ": ");
  if (at == std::string::npos) return {};
  at += name.size() + 2;
  return r.head_lines.substr(at, r.head_lines.find("\r\n", at) - at);
}

bool contains(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

std::uint64_t db_queries() {
  return nyxgate::telemetry::metrics().db_queries.value();
}

struct blog_site : node_fixture {
  std::string owner = seed_tenant("acme", "owner@acme.test");
  std::string project_id =
      sql(conninfo(),
          "INSERT INTO projects (tenant_id, slug, name, description, blog_slug) "
          "SELECT id, 'site', 'Acme <Lab>', 'What we build', 'acme-blog' "
          "FROM tenants WHERE slug = 'acme' RETURNING id")[0][0];

  blog_site() {
    add_post("hello", "Hello world", "Welcome *everyone*.", "'2026-11-02T10:00:00Z'");
    add_post("script", "<script>alert(1)</script>", "<script>alert(2)</script> and text",
             "'2026-12-01T10:00:00Z'");
    add_post("draft", "Secret draft", "Not yet.", "NULL");
  }

  void add_post(const std::string& slug, const std::string& title, const std::string& body,
                const std::string& published_at) {
    sql(conninfo(),
        "INSERT INTO blog_posts (tenant_id, project_id, slug, title, body, published_at) "
        "SELECT tenant_id, id, '" +
            slug + "', '" + title + "', '" + body + "', " + published_at +
            " FROM projects WHERE id = '" + project_id + "'");
  }

  void notify() {
    sql(conninfo(), "SELECT pg_notify('nyxgate_blog_changed', '" + project_id + "')");
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(blog_pages_test, blog_site)

BOOST_AUTO_TEST_CASE(the_index_shows_published_posts_and_hides_drafts) {
  auto r = get(*this, "/b/acme-blog");
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.content_type == "text/html; charset=utf-8");
  BOOST_TEST(contains(r.body, "Acme &lt;Lab&gt;"));
  BOOST_TEST(contains(r.body, "Hello world"));
  BOOST_TEST(contains(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  BOOST_TEST(!contains(r.body, "<script"));
  BOOST_TEST(!contains(r.body, "Secret draft"));
  // The newest post is the hero: it comes before the older one.
  BOOST_TEST(r.body.find("/b/acme-blog/script") < r.body.find("/b/acme-blog/hello"));
  BOOST_TEST(get(*this, "/b/acme-blog/draft").status == 404u);
  BOOST_TEST(!contains(get(*this, "/b/acme-blog/feed.xml").body, "Secret draft"));
}

BOOST_AUTO_TEST_CASE(a_post_page_renders_its_markdown_without_raw_html) {
  auto r = get(*this, "/b/acme-blog/script");
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(!contains(r.body, "<script"));
  BOOST_TEST(contains(r.body, "raw HTML omitted"));
  BOOST_TEST(contains(get(*this, "/b/acme-blog/hello").body, "<em>everyone</em>"));
}

BOOST_AUTO_TEST_CASE(the_feed_is_atom) {
  auto r = get(*this, "/b/acme-blog/feed.xml");
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.content_type == "application/atom+xml; charset=utf-8");
  BOOST_TEST(contains(r.body, "<feed xmlns=\"http://www.w3.org/2005/Atom\">"));
  BOOST_TEST(contains(r.body, "<id>urn:uuid:" + project_id + "</id>"));
  BOOST_TEST(contains(r.body,
                      "<link rel=\"self\" type=\"application/atom+xml\" "
                      "href=\"/b/acme-blog/feed.xml\"/>"));
}

BOOST_AUTO_TEST_CASE(a_matching_if_none_match_gets_304) {
  for (const auto* target : {"/b/acme-blog", "/b/acme-blog/hello", "/b/acme-blog/feed.xml"}) {
    auto first = get(*this, target);
    auto etag = head_line(first, "ETag");
    BOOST_REQUIRE_MESSAGE(etag.size() == 34u && etag.front() == '"', target);
    BOOST_TEST(head_line(first, "Cache-Control") == "public, no-cache");
    for (const auto& value : {etag, "W/" + etag, "\"other\", " + etag, std::string{"*"}}) {
      auto again = get(*this, target, {{"if-none-match", value}});
      BOOST_TEST(again.status == 304u, target << " " << value);
      BOOST_TEST(again.body.empty());
      BOOST_TEST(head_line(again, "ETag") == etag);
    }
    BOOST_TEST(get(*this, target, {{"if-none-match", "\"other\""}}).status == 200u);
    auto head = call(*this, "HEAD", target);
    BOOST_TEST(head.status == 200u);
    BOOST_TEST(head_line(head, "ETag") == etag);
  }
}

BOOST_AUTO_TEST_CASE(unknown_blogs_and_posts_get_the_404_page) {
  for (const auto* target :
       {"/b/no-such-blog", "/b/acme-blog/no-such-post", "/b/Bad_Slug", "/b/acme-blog/a/b"}) {
    auto r = get(*this, target);
    BOOST_TEST(r.status == 404u, target);
    BOOST_TEST(r.content_type == "text/html; charset=utf-8");
    BOOST_TEST(contains(r.body, "<h1>Not found</h1>"), target);
    BOOST_TEST(head_line(r, "ETag").empty());
  }
}

BOOST_AUTO_TEST_CASE(other_methods_get_405) {
  auto r = call(*this, "POST", "/b/acme-blog");
  BOOST_TEST(r.status == 405u);
  BOOST_TEST(head_line(r, "Allow") == "GET, HEAD");
}

BOOST_AUTO_TEST_CASE(views_make_no_query) {
  BOOST_REQUIRE(get(*this, "/b/acme-blog").status == 200u);  // the one load
  auto before = db_queries();
  for (int i = 0; i < 100; ++i) {
    BOOST_TEST(get(*this, "/b/acme-blog").status == 200u);
    BOOST_TEST(get(*this, "/b/acme-blog/hello").status == 200u);
    BOOST_TEST(get(*this, "/b/acme-blog/feed.xml").status == 200u);
    // Unknown slugs are answered from the directory of blog slugs the load read.
    BOOST_TEST(get(*this, std::string{"/b/random-"}.append(std::to_string(i))).status == 404u);
  }
  BOOST_TEST(db_queries() - before <= 2u, db_queries() - before << " queries for 400 views");
}

BOOST_AUTO_TEST_CASE(concurrent_misses_share_one_load) {
  auto before = db_queries();
  std::vector<std::future<net::http_response>> answers;
  for (int i = 0; i < 20; ++i) {
    auto promise = std::make_shared<std::promise<net::http_response>>();
    answers.push_back(promise->get_future());
    net::http_request req;
    req.method = "GET";
    req.target = "/b/acme-blog";
    node().handler()(std::move(req),
                     [promise](net::http_response r) { promise->set_value(std::move(r)); });
  }
  for (auto& a : answers) {
    BOOST_REQUIRE(a.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    BOOST_TEST(a.get().status == 200u);
  }
  // One load: BEGIN, SET TRANSACTION, two SELECTs, COMMIT.
  BOOST_TEST(db_queries() - before <= 6u, db_queries() - before << " queries for 20 misses");
}

BOOST_AUTO_TEST_CASE(pages_come_from_memory_until_a_notice_drops_them_on_every_node) {
  node_fixture other(conninfo(), master_key_file());
  // A node drops every page when its listener connects (notices sent before are lost): wait
  // for both listeners, so the pages cached below stay until the notice.
  BOOST_REQUIRE(eventually([&] {
    return sql(conninfo(),
               "SELECT count(*) >= 2 FROM pg_stat_activity WHERE datname = current_database() "
               "AND query LIKE 'LISTEN %'")[0][0] == "t";
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_REQUIRE(get(*this, "/b/acme-blog").status == 200u);
  BOOST_REQUIRE(get(other, "/b/acme-blog").status == 200u);
  auto etag = head_line(get(*this, "/b/acme-blog"), "ETag");

  // A change without a notice is not seen: the pages are served from memory.
  add_post("fresh", "Fresh news", "Just in.", "now()");
  BOOST_TEST(!contains(get(*this, "/b/acme-blog").body, "Fresh news"));
  BOOST_TEST(!contains(get(other, "/b/acme-blog").body, "Fresh news"));

  notify();
  for (auto* n : {static_cast<node_fixture*>(this), &other})
    BOOST_TEST(eventually([&] { return contains(get(*n, "/b/acme-blog").body, "Fresh news"); }));
  BOOST_TEST(get(*this, "/b/acme-blog/fresh").status == 200u);
  auto fresh = get(*this, "/b/acme-blog", {{"if-none-match", etag}});
  BOOST_TEST(fresh.status == 200u);  // the old ETag no longer matches
  BOOST_TEST(head_line(fresh, "ETag") != etag);
  // Both nodes render the same bytes, so they give the same ETag.
  BOOST_TEST(head_line(get(other, "/b/acme-blog"), "ETag") == head_line(fresh, "ETag"));
}

BOOST_AUTO_TEST_CASE(a_new_blog_slug_is_found_after_its_notice) {
  BOOST_REQUIRE(get(*this, "/b/acme-blog").status == 200u);  // the directory is loaded
  BOOST_TEST(get(*this, "/b/second-blog").status == 404u);
  auto second = sql(conninfo(),
                    "INSERT INTO projects (tenant_id, slug, name, blog_slug) SELECT id, 'second', "
                    "'Second', 'second-blog' FROM tenants WHERE slug = 'acme' RETURNING id")[0][0];
  BOOST_TEST(get(*this, "/b/second-blog").status == 404u);  // still the directory's answer
  sql(conninfo(), "SELECT pg_notify('nyxgate_blog_changed', '" + second + "')");
  BOOST_TEST(eventually([&] { return get(*this, "/b/second-blog").status == 200u; }));
  BOOST_TEST(contains(get(*this, "/b/second-blog").body, "No posts yet"));
}

BOOST_AUTO_TEST_CASE(a_deleted_project_takes_its_blog_away) {
  BOOST_REQUIRE(get(*this, "/b/acme-blog").status == 200u);
  sql(conninfo(), "DELETE FROM projects WHERE id = '" + project_id + "'");
  notify();
  BOOST_TEST(eventually([&] { return get(*this, "/b/acme-blog").status == 404u; }));
  BOOST_TEST(get(*this, "/b/acme-blog/hello").status == 404u);
}

BOOST_AUTO_TEST_SUITE_END()
