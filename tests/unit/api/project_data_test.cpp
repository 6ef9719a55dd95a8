// The pure parts of the project procedures: page cursors, slugs made from titles, and the field
// rules of docs/projects.md.
#include <boost/test/unit_test.hpp>
#include <string>

#include "api/trpc/page.hpp"
#include "api/trpc/project_data.hpp"

using namespace nyxgate::api;
namespace rules = nyxgate::api::project_data;

BOOST_AUTO_TEST_SUITE(project_data_rules)

BOOST_AUTO_TEST_CASE(cursor_round_trips_exact_microseconds_and_id) {
  const std::string id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  auto cursor = encode_cursor(1796543210123457, id);
  BOOST_TEST(cursor.find_first_not_of(
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
             std::string::npos);
  auto at = decode_cursor(cursor);
  BOOST_REQUIRE(at.has_value());
  BOOST_TEST(at->created_us == 1796543210123457);
  BOOST_TEST(at->id == id);
}

BOOST_AUTO_TEST_CASE(malformed_cursors_decode_to_nothing) {
  const std::string id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  auto good = encode_cursor(42, id);
  for (const std::string& bad :
       {std::string{}, std::string{"!!"}, good + "A", good + "=", encode_cursor(42, "not-a-uuid"),
        encode_cursor(-1, id), encode_cursor(9223372036854775807, id), std::string(200, 'A'),
        std::string{"MTIzNDU2"} /* "123456": no id */})
    BOOST_TEST(!decode_cursor(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(slugs_from_titles) {
  BOOST_TEST(rules::slug_from_title("Hello, World!") == "hello-world");
  BOOST_TEST(rules::slug_from_title("  Ünïcode -- only? ") == "n-code-only");
  BOOST_TEST(rules::slug_from_title("!!!") == "post");
  BOOST_TEST(rules::slug_from_title(std::string(100, 'a')) == std::string(64, 'a'));
  BOOST_TEST(rules::slug_from_title(std::string(63, 'a') + " b") == std::string(63, 'a'));
}

BOOST_AUTO_TEST_CASE(slug_and_repository_rules) {
  BOOST_TEST(rules::valid_slug("a-1"));
  BOOST_TEST(!rules::valid_slug(""));
  BOOST_TEST(!rules::valid_slug("A"));
  BOOST_TEST(!rules::valid_slug(std::string(65, 'a')));
  BOOST_TEST(rules::valid_github_repo("torvalds/linux"));
  BOOST_TEST(rules::valid_github_repo("acme-co/site.github.io"));
  for (const char* bad : {"linux", "/linux", "a/", "a/b/c", "a b/c", "a/..", "a/.", "o_o/x"})
    BOOST_TEST(!rules::valid_github_repo(bad), bad);
}

BOOST_AUTO_TEST_SUITE_END()
