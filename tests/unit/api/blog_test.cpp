// The public blog's renderer, path parsing, ETag matching and cache: escaping, raw HTML kept
// out, month grouping, Atom basics, invalidation and bounds.
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <boost/test/unit_test.hpp>
#include <sstream>

#include "api/blog/cache.hpp"
#include "api/blog/pages.hpp"
#include "api/blog/render.hpp"

using namespace nyxgate::api::blog;
namespace pt = boost::property_tree;

namespace {

constexpr const char* script_title = "<script>alert(1)</script>";

post_row post(std::string slug, std::string title, std::string published_at,
              std::string body = "Some *text*.") {
  return post_row{"id-" + slug,    slug,         std::move(title),
                  std::move(body), published_at, published_at};
}

/// Newest first, as the repository returns them: December, two in November, January.
blog_row sample_blog() {
  blog_row b;
  b.project_id = "11111111-1111-4111-8111-111111111111";
  b.blog_slug = "acme";
  b.name = "Acme & Co";
  b.description = "Notes from <the> lab";
  b.updated_at = "2026-01-01T00:00:00.000Z";
  b.posts = {post("dec", "December news", "2026-12-03T10:00:00.000Z"),
             post("nov-b", "Second in November", "2026-11-20T10:00:00.000Z"),
             post("nov-a", "First in November", "2026-11-02T10:00:00.000Z"),
             post("jan", "January", "2026-01-15T10:00:00.000Z")};
  return b;
}

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

pt::ptree parse_xml(const std::string& xml) {
  std::istringstream in(xml);
  pt::ptree tree;
  pt::read_xml(in, tree);  // throws on malformed XML
  return tree;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(blog_render_test)

BOOST_AUTO_TEST_CASE(a_script_title_is_text_on_every_page) {
  auto b = sample_blog();
  b.posts.front().title = script_title;
  b.name = script_title;
  for (const auto& html : {render_index(b), render_post(b, b.posts.front()), render_feed(b, 20)}) {
    BOOST_TEST(html.find("<script") == std::string::npos);
    BOOST_TEST(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(raw_html_in_markdown_is_not_passed_through) {
  auto html = markdown_html(
      "Hello <b onclick=\"x()\">there</b>\n\n<script>alert(1)</script>\n\n"
      "<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3)) and **bold**");
  BOOST_TEST(html.find("<script") == std::string::npos);
  BOOST_TEST(html.find("<b ") == std::string::npos);
  BOOST_TEST(html.find("<img") == std::string::npos);
  BOOST_TEST(html.find("javascript:") == std::string::npos);
  BOOST_TEST(html.find("onerror") == std::string::npos);
  BOOST_TEST(html.find("<strong>bold</strong>") != std::string::npos);
  BOOST_TEST(html.find("raw HTML omitted") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(markdown_renders_commonmark) {
  auto html = markdown_html("# Title\n\n- one\n- two\n\n```\ncode <here>\n```\n");
  BOOST_TEST(html.find("<h1>Title</h1>") != std::string::npos);
  BOOST_TEST(html.find("<li>two</li>") != std::string::npos);
  BOOST_TEST(html.find("code &lt;here&gt;") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_hero_is_the_newest_post_and_months_follow_newest_first) {
  auto html = render_index(sample_blog());
  auto hero = html.find("class=\"hero\"");
  auto dec_link = html.find("/b/acme/dec");
  auto timeline = html.find("class=\"timeline\"");
  BOOST_REQUIRE(hero != std::string::npos);
  BOOST_TEST(hero < dec_link);
  BOOST_TEST(dec_link < timeline);
  // The hero is not repeated in the timeline; November's two posts share one heading.
  BOOST_TEST(count(html, "/b/acme/dec\"") == 1u);
  BOOST_TEST(count(html, "<h2>November 2026</h2>") == 1u);
  auto nov = html.find("<h2>November 2026</h2>");
  auto jan = html.find("<h2>January 2026</h2>");
  BOOST_TEST(nov < jan);
  BOOST_TEST(html.find("<h2>December 2026</h2>") == std::string::npos);
  BOOST_TEST(html.find("/b/acme/nov-b") < html.find("/b/acme/nov-a"));
  BOOST_TEST(html.find("/b/acme/nov-a") < jan);
}

BOOST_AUTO_TEST_CASE(the_index_escapes_the_blog_name_and_description) {
  auto html = render_index(sample_blog());
  BOOST_TEST(html.find("Acme &amp; Co") != std::string::npos);
  BOOST_TEST(html.find("Notes from &lt;the&gt; lab") != std::string::npos);
  BOOST_TEST(html.starts_with("<!DOCTYPE html>"));
  BOOST_TEST(html.find("name=\"viewport\"") != std::string::npos);
  BOOST_TEST(html.find("prefers-color-scheme:dark") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_empty_blog_says_so) {
  auto b = sample_blog();
  b.posts.clear();
  auto html = render_index(b);
  BOOST_TEST(html.find("No posts yet") != std::string::npos);
  BOOST_TEST(html.find("class=\"hero\"") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_feed_is_well_formed_atom) {
  auto b = sample_blog();
  b.posts.front().title = script_title;
  b.posts.front().body = "a < b & <em>c</em>";
  auto xml = render_feed(b, 3);
  auto tree = parse_xml(xml);
  const auto& feed = tree.get_child("feed");
  BOOST_TEST(feed.get<std::string>("<xmlattr>.xmlns") == "http://www.w3.org/2005/Atom");
  BOOST_TEST(feed.get<std::string>("id") == "urn:uuid:" + b.project_id);
  BOOST_TEST(feed.get<std::string>("title") == "Acme & Co");
  BOOST_TEST(feed.get<std::string>("updated") == "2026-12-03T10:00:00.000Z");
  std::vector<std::string> rels;
  std::size_t entries = 0;
  for (const auto& [name, child] : feed) {
    if (name == "link") rels.push_back(child.get<std::string>("<xmlattr>.rel"));
    if (name != "entry") continue;
    ++entries;
    for (auto field : {"id", "title", "updated", "published", "content"})
      BOOST_TEST(child.count(field) == 1u, field);
    BOOST_TEST(child.get<std::string>("content.<xmlattr>.type") == "html");
    BOOST_TEST(child.get<std::string>("link.<xmlattr>.href").starts_with("/b/acme/"));
  }
  BOOST_TEST(entries == 3u);  // bounded by max_entries
  BOOST_TEST((rels == std::vector<std::string>{"self", "alternate"}));
  const auto& first = feed.get_child("entry");
  BOOST_TEST(first.get<std::string>("title") == script_title);  // text once parsed
  BOOST_TEST(first.get<std::string>("content").find("a &lt; b &amp;") != std::string::npos);
  BOOST_TEST(first.get<std::string>("content").find("<em>") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(control_characters_become_replacement_characters) {
  BOOST_TEST(escape_text("a\x01"
                         "b\x7f"
                         "c\xc2\x85"
                         "d\te") ==
             "a\xEF\xBF\xBD"
             "b\xEF\xBF\xBD"
             "c\xEF\xBF\xBD"
             "d\te");
  auto b = sample_blog();
  b.posts.front().title = "bell\x07";
  b.posts.front().body = "body\x0b text";
  auto xml = render_feed(b, 20);
  BOOST_CHECK_NO_THROW(parse_xml(xml));
  BOOST_TEST(xml.find('\x07') == std::string::npos);
  BOOST_TEST(xml.find('\x0b') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(dates_read_as_words) {
  BOOST_TEST(month_heading("2026-12-07T16:00:00.000Z") == "December 2026");
  BOOST_TEST(month_heading("2027-01-01T00:00:00.000Z") == "January 2027");
  BOOST_TEST(day_text("2026-12-07T16:00:00.000Z") == "7 December 2026");
}

BOOST_AUTO_TEST_CASE(an_excerpt_is_plain_text_cut_at_a_word) {
  BOOST_TEST(markdown_excerpt("# Head\n\nSome *emphasis* and `code`.", 100) ==
             "Head Some emphasis and code.");
  auto cut = markdown_excerpt(std::string(50, 'x') + " " + std::string(50, 'y'), 60);
  BOOST_TEST(cut == std::string(50, 'x') + "\xE2\x80\xA6");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(blog_pages_test)

BOOST_AUTO_TEST_CASE(paths_name_a_blog_its_feed_or_a_post) {
  struct row {
    std::string_view path;
    target::kind what;
    std::string_view blog, post;
  };
  const std::string long_slug = std::string{"/b/"}.append(65, 'a');
  for (const auto& r : std::initializer_list<row>{
           {"/b/acme", target::kind::index, "acme", ""},
           {"/b/acme/", target::kind::index, "acme", ""},
           {"/b/acme/feed.xml", target::kind::feed, "acme", ""},
           {"/b/acme/hello-world", target::kind::post, "acme", "hello-world"},
           {"/b/", target::kind::invalid, "", ""},
           {"/b/Acme", target::kind::invalid, "", ""},
           {"/b/acme/Hello", target::kind::invalid, "", ""},
           {"/b/acme/a/b", target::kind::invalid, "", ""},
           {"/b/acme/..", target::kind::invalid, "", ""},
           {long_slug, target::kind::invalid, "", ""},
       }) {
    auto t = parse_target(r.path);
    BOOST_TEST((t.what == r.what), r.path);
    if (r.what == target::kind::invalid) continue;
    BOOST_TEST(t.blog_slug == r.blog, r.path);
    BOOST_TEST(t.post_slug == r.post, r.path);
  }
}

BOOST_AUTO_TEST_CASE(if_none_match_takes_lists_weak_forms_and_a_star) {
  std::string_view etag = "\"abc\"";
  BOOST_TEST(etag_matches("\"abc\"", etag));
  BOOST_TEST(etag_matches("W/\"abc\"", etag));
  BOOST_TEST(etag_matches("\"x\", W/\"y\" ,\"abc\"", etag));
  BOOST_TEST(etag_matches("*", etag));
  BOOST_TEST(!etag_matches("\"abcd\"", etag));
  BOOST_TEST(!etag_matches("abc", etag));
  BOOST_TEST(!etag_matches("\"ab", etag));
  BOOST_TEST(!etag_matches("", etag));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(blog_cache_test)

namespace {

std::shared_ptr<const rendered_blog> rendered(const std::string& project_id,
                                              const std::string& slug) {
  auto b = sample_blog();
  b.project_id = project_id;
  b.blog_slug = slug;
  return render_blog(b, blog_limits{});
}

}  // namespace

BOOST_AUTO_TEST_CASE(pages_carry_a_strong_etag_of_their_body) {
  auto b = rendered("p1", "acme");
  BOOST_TEST(b->index.etag.size() == 34u);
  BOOST_TEST(b->index.etag.front() == '"');
  BOOST_TEST(b->index.etag != b->feed.etag);
  BOOST_TEST(b->index.etag == rendered("p1", "acme")->index.etag);  // same body, same tag
  BOOST_TEST(b->index.head_lines.find("ETag: " + b->index.etag + "\r\n") != std::string::npos);
  BOOST_TEST(b->posts.size() == 4u);
}

BOOST_AUTO_TEST_CASE(invalidate_drops_that_project_only) {
  blog_cache cache;
  cache.store(cache.generation(), "acme", rendered("p1", "acme"), {"acme", "globex"});
  cache.store(cache.generation(), "globex", rendered("p2", "globex"), {"acme", "globex"});
  BOOST_TEST(cache.size() == 2u);
  cache.invalidate("p1");
  BOOST_TEST(!cache.find("acme").blog);
  BOOST_TEST(cache.find("globex").blog);
  // The directory went too: the project's blog slug may have changed.
  BOOST_TEST(!cache.find("new-slug").missing);
}

BOOST_AUTO_TEST_CASE(a_load_that_raced_an_invalidation_is_not_kept) {
  blog_cache cache;
  auto before = cache.generation();
  cache.invalidate("p1");
  cache.store(before, "acme", rendered("p1", "acme"), {"acme"});
  BOOST_TEST(!cache.find("acme").blog);
  BOOST_TEST(!cache.find("other").missing);
}

BOOST_AUTO_TEST_CASE(the_directory_answers_unknown_slugs) {
  blog_cache cache;
  BOOST_TEST(!cache.find("nope").missing);  // nothing known yet: load
  cache.store(cache.generation(), "nope", nullptr, {"acme"});
  BOOST_TEST(cache.find("nope").missing);
  BOOST_TEST(cache.find("random-slug").missing);
  BOOST_TEST(!cache.find("acme").missing);  // known, not rendered yet: load
  cache.invalidate_all();
  BOOST_TEST(!cache.find("nope").missing);
}

BOOST_AUTO_TEST_CASE(the_cache_keeps_at_most_max_blogs) {
  blog_limits limits;
  limits.max_blogs = 3;
  blog_cache cache(limits);
  for (int i = 0; i < 10; ++i) {
    auto slug = std::string{"b"}.append(std::to_string(i));
    cache.store(cache.generation(), slug,
                rendered(std::string{"p"}.append(std::to_string(i)), slug), {});
  }
  BOOST_TEST(cache.size() == 3u);
  BOOST_TEST(cache.find("b9").blog);
  BOOST_TEST(!cache.find("b0").blog);
}

BOOST_AUTO_TEST_CASE(the_cache_keeps_at_most_max_bytes) {
  auto one = rendered("p0", "b0");
  blog_limits limits;
  limits.max_bytes = one->bytes * 2 + one->bytes / 2;
  blog_cache cache(limits);
  for (int i = 0; i < 5; ++i) {
    auto slug = std::string{"b"}.append(std::to_string(i));
    cache.store(cache.generation(), slug,
                rendered(std::string{"p"}.append(std::to_string(i)), slug), {});
  }
  BOOST_TEST(cache.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
