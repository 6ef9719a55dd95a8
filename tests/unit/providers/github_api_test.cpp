#include <boost/test/unit_test.hpp>

#include "providers/github_api.hpp"

using namespace nyxgate::providers;

BOOST_AUTO_TEST_SUITE(github_api_test)

BOOST_AUTO_TEST_CASE(urls_encode_the_repository_and_since) {
  BOOST_TEST(github_repo_url("https://api.github.com/", "octo-org/hello.world") ==
             "https://api.github.com/repos/octo-org/hello.world");
  BOOST_TEST(github_commits_url("https://ghe.example/api/v3", "a/b", 100,
                                std::string{"2026-01-02T03:04:05+01:00"}) ==
             "https://ghe.example/api/v3/repos/a/b/commits?per_page=100&since=2026-01-02T03%3A04%"
             "3A05%2B01%3A00");
  BOOST_TEST(github_commits_url("https://api.github.com", "a/b", 5, std::nullopt) ==
             "https://api.github.com/repos/a/b/commits?per_page=5");
  auto g = github_request("https://api.github.com/user", "ghp_x");
  BOOST_TEST(g.headers.at(0).second == "Bearer ghp_x");
}

BOOST_AUTO_TEST_CASE(link_next_finds_the_next_page_among_the_relations) {
  const char* github =
      "<https://api.github.com/repositories/1/commits?per_page=2&page=1>; rel=\"prev\", "
      "<https://api.github.com/repositories/1/commits?per_page=2&page=3>; rel=\"next\", "
      "<https://api.github.com/repositories/1/commits?per_page=2&page=5>; rel=\"last\", "
      "<https://api.github.com/repositories/1/commits?per_page=2&page=1>; rel=\"first\"";
  BOOST_TEST(link_next(github).value_or("") ==
             "https://api.github.com/repositories/1/commits?per_page=2&page=3");
  BOOST_TEST(!link_next("<https://x/?page=1>; rel=\"prev\", <https://x/?page=1>; rel=\"first\""));
  BOOST_TEST(!link_next(""));
  BOOST_TEST(!link_next("<https://x/?page=2; rel=\"next\""));
}

BOOST_AUTO_TEST_CASE(only_urls_under_the_base_may_carry_the_token) {
  BOOST_TEST(under_base("https://api.github.com", "https://api.github.com/repositories/1/commits"));
  BOOST_TEST(under_base("https://API.github.com/", "https://api.github.com:443/x"));
  BOOST_TEST(under_base("https://ghe.example/api/v3", "https://ghe.example/api/v3/repos/a/b"));
  BOOST_TEST(!under_base("https://ghe.example/api/v3", "https://ghe.example/api/v30/x"));
  BOOST_TEST(!under_base("https://ghe.example/api/v3", "https://ghe.example/other"));
  BOOST_TEST(!under_base("https://api.github.com", "http://api.github.com/x"));
  BOOST_TEST(!under_base("https://api.github.com", "https://api.github.com.evil.test/x"));
  BOOST_TEST(!under_base("https://127.0.0.1:8443", "https://localhost:8443/x"));
  BOOST_TEST(!under_base("https://127.0.0.1:8443", "https://127.0.0.1:8444/x"));
  BOOST_TEST(!under_base("https://api.github.com", "https://api.github.com@evil.test/x"));
  BOOST_TEST(!under_base("https://api.github.com", "/repositories/1/commits"));
}

BOOST_AUTO_TEST_CASE(since_must_be_an_iso_time) {
  for (const char* ok :
       {"2026-01-31T12:00:00Z", "2026-01-31T12:00:00.123Z", "2026-01-31T12:00:00+02:00"})
    BOOST_TEST(valid_github_time(ok), ok);
  for (const char* bad : {"", "yesterday", "2026-01-31", "2026-01-31 12:00:00Z",
                          "2026-01-31T12:00:00", "2026-01-31T12:00:00Z&per_page=1"})
    BOOST_TEST(!valid_github_time(bad), bad);
}

BOOST_AUTO_TEST_CASE(rate_limit_and_its_reset_time) {
  BOOST_TEST(github_rate_limited(403, "0"));
  BOOST_TEST(github_rate_limited(429, "0"));
  BOOST_TEST(!github_rate_limited(403, "12"));
  BOOST_TEST(!github_rate_limited(403, ""));
  BOOST_TEST(github_reset_time("1767225600") == "2026-01-01T00:00:00Z");
  BOOST_TEST(github_reset_time("soon").empty());
}

BOOST_AUTO_TEST_CASE(a_commit_page_becomes_notes) {
  const std::string sha(40, 'a');
  auto page = parse_commit_page(
      R"([{"sha":")" + sha +
      R"(","commit":{"author":{"name":"Ada","email":"a@x","date":"2026-01-01T00:00:00Z"},)"
      R"("message":"Fix the thing\r\n\nLonger text."},"author":{"login":"ada"}},)"
      R"({"sha":")" +
      std::string(40, 'b') +
      R"(","commit":{"author":{"name":"","date":""},"message":"\n"},"author":null}])");
  BOOST_REQUIRE(page);
  BOOST_REQUIRE(page->size() == 2u);
  auto n = note_of(page->at(0));
  BOOST_TEST(n.sha == sha);
  BOOST_TEST(n.title == "Fix the thing");
  BOOST_TEST(n.body ==
             "Fix the thing\r\n\nLonger text.\n\nCommitted by Ada (@ada) as aaaaaaa on "
             "2026-01-01T00:00:00Z.");
  auto empty = note_of(page->at(1));
  BOOST_TEST(empty.title == "Commit bbbbbbb");
  BOOST_TEST(empty.body == "\n\n\nCommitted by an unknown author as bbbbbbb.");
  // Titles count code points: 301 'é' keep 300.
  std::string accents;
  for (int i = 0; i < 301; ++i) accents += "\xC3\xA9";
  auto cut = note_of(github_commit{sha, accents, "A", ""});
  BOOST_TEST(cut.title.size() == 600u);
  // Not a page: an object, a sha that is not lower-case hex.
  BOOST_TEST(!parse_commit_page(R"({"message":"Not Found"})"));
  BOOST_TEST(!parse_commit_page(R"([{"sha":"ABC","commit":{}}])"));
  BOOST_TEST(!parse_commit_page("not json"));
}

BOOST_AUTO_TEST_SUITE_END()
