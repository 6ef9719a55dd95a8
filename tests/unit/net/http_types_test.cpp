// The header-text helpers the session and the HTTPS client share.
#include <boost/test/unit_test.hpp>

#include <string>

#include "net/http/types.hpp"

namespace net = nyxgate::net;

BOOST_AUTO_TEST_SUITE(http_types_test)

BOOST_AUTO_TEST_CASE(line_breaks_anywhere_are_found) {
  BOOST_TEST(!net::has_line_break(""));
  BOOST_TEST(!net::has_line_break("application/json; charset=utf-8"));
  BOOST_TEST(net::has_line_break("a\r"));
  BOOST_TEST(net::has_line_break("\nb"));
  BOOST_TEST(net::has_line_break("gpt\r\nSet-Cookie: x=y"));
}

BOOST_AUTO_TEST_CASE(line_breaks_are_found_at_every_position_and_near_misses_are_not) {
  // Eight bytes at a time, then byte by byte: every position of strings up to 40 bytes, and
  // bytes near CR and LF (tab, VT, FF, 0x0e, 0x8a, 0x8d, 0x1d), which must not count.
  for (std::size_t n = 1; n <= 40; ++n) {
    for (std::size_t at = 0; at < n; ++at) {
      for (char c : {'\r', '\n'}) {
        std::string s(n, 'k');
        s[at] = c;
        BOOST_TEST(net::has_line_break(s), "n=" << n << " at=" << at);
      }
      for (char c : {'\t', '\x0b', '\x0c', '\x0e', '\x8a', '\x8d', '\x1d'}) {
        std::string s(n, 'k');
        s[at] = c;
        BOOST_TEST(!net::has_line_break(s), "n=" << n << " at=" << at);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(only_ascii_letters_are_lowered) {
  std::string s = "Content-TYPE_\xc3\x89Z@[";
  net::ascii_lower(s);
  BOOST_TEST(s == "content-type_\xc3\x89z@[");
}

BOOST_AUTO_TEST_CASE(header_names_match_ignoring_case_only) {
  BOOST_TEST(net::header_name_in("Content-Length", {"host", "content-length"}));
  BOOST_TEST(net::header_name_in("HOST", {"host"}));
  BOOST_TEST(!net::header_name_in("hosts", {"host"}));
  BOOST_TEST(!net::header_name_in("content_length", {"content-length"}));
  // '-' and CR differ only in the bit that case folding ignores; they are no letters.
  BOOST_TEST(!net::header_name_in("content\rlength", {"content-length"}));
  BOOST_TEST(!net::header_name_in("x", {}));
}

BOOST_AUTO_TEST_SUITE_END()
