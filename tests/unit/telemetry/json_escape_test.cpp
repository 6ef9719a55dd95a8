// JSON string escaping: the word-at-a-time scan must escape exactly what the byte-wise rule
// escapes, wherever in a word the special byte sits.
#include <boost/test/unit_test.hpp>

#include <random>

#include <boost/json/parse.hpp>
#include <string>

#include "telemetry/json_escape.hpp"
#include "telemetry/utf8.hpp"

namespace {

/// The rule, one byte at a time.
std::string reference(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20)
      out += std::string{"\\u00"} + hex[c >> 4] + hex[c & 0xf];
    else
      out += ch;
  }
  return out;
}

std::string untrusted(std::string_view s) {
  std::string out;
  nyxgate::telemetry::append_json_escaped_untrusted(out, s);
  return out;
}

/// What a JSON parser (which rejects invalid UTF-8) reads back from `escaped` in quotes.
std::string parsed_back(const std::string& escaped) {
  return std::string{boost::json::parse("\"" + escaped + "\"").as_string()};
}

std::string escaped(std::string_view s) {
  std::string out = "prefix:";
  nyxgate::telemetry::append_json_escaped(out, s);
  return out.substr(7);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(json_escape_test)

BOOST_AUTO_TEST_CASE(plain_text_and_utf8_pass_through) {
  BOOST_TEST(escaped("") == "");
  BOOST_TEST(escaped("hello, world: a longer plain line") == "hello, world: a longer plain line");
  BOOST_TEST(escaped("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 ~\x7f") ==
             "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 ~\x7f");
}

BOOST_AUTO_TEST_CASE(each_special_byte_at_each_position_of_a_word) {
  for (char special : {'"', '\\', '\n', '\r', '\t', '\0', '\x01', '\x1f'}) {
    for (std::size_t pos = 0; pos < 17; ++pos) {
      std::string s(17, 'a');
      s[pos] = special;
      BOOST_TEST(escaped(s) == reference(s), "byte " << int(special) << " at " << pos);
    }
  }
  // Bytes next to the escaped range stay as they are.
  BOOST_TEST(escaped(std::string{" !#[]\x80\xff"}) == " !#[]\x80\xff");
}

BOOST_AUTO_TEST_CASE(random_strings_match_the_byte_wise_rule) {
  std::mt19937 gen(42);
  std::uniform_int_distribution<int> len(0, 40), byte(0, 255), pick(0, 3);
  for (int round = 0; round < 2000; ++round) {
    std::string s(static_cast<std::size_t>(len(gen)), 'x');
    for (auto& c : s) c = static_cast<char>(pick(gen) == 0 ? byte(gen) : 'a' + byte(gen) % 26);
    BOOST_REQUIRE_EQUAL(escaped(s), reference(s));
  }
}

BOOST_AUTO_TEST_CASE(untrusted_bytes_0x80_to_0xff_become_replacement_characters) {
  for (int b = 0x80; b <= 0xff; ++b) {
    std::string s = "a";
    s += static_cast<char>(b);
    s += "b";
    auto out = untrusted(s);
    BOOST_TEST(out == "a\\ufffdb", "byte " << b);
    BOOST_TEST(parsed_back(out) ==
                   "a\xef\xbf\xbd"
                   "b",
               "byte " << b);
    BOOST_TEST(nyxgate::telemetry::to_valid_utf8(s) ==
                   "a\xef\xbf\xbd"
                   "b",
               "byte " << b);
  }
}

BOOST_AUTO_TEST_CASE(untrusted_text_keeps_well_formed_utf8_and_escapes_controls) {
  std::string fine = "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
  BOOST_TEST(untrusted(fine) == fine);
  BOOST_TEST(nyxgate::telemetry::valid_utf8(fine));
  BOOST_TEST(untrusted(std::string{"\x01\x1f\"\\\n", 5}) == "\\u0001\\u001f\\\"\\\\\\n");
  // Each byte of an ill-formed sequence is replaced on its own.
  BOOST_TEST(untrusted("\xc0\xaf") == "\\ufffd\\ufffd");                        // overlong '/'
  BOOST_TEST(untrusted("\xed\xa0\x80") == "\\ufffd\\ufffd\\ufffd");             // surrogate
  BOOST_TEST(untrusted("\xf4\x90\x80\x80") == "\\ufffd\\ufffd\\ufffd\\ufffd");  // > U+10FFFF
  BOOST_TEST(untrusted("ok \xe2\x82") == "ok \\ufffd\\ufffd");  // truncated at the end
  BOOST_TEST(untrusted("\xe2\x82 x") == "\\ufffd\\ufffd x");    // truncated in the middle
  BOOST_TEST(!nyxgate::telemetry::valid_utf8("\xe2\x82"));
}

BOOST_AUTO_TEST_CASE(random_untrusted_bytes_always_parse_as_json) {
  std::mt19937 gen(7);
  std::uniform_int_distribution<int> len(0, 40), byte(0, 255);
  for (int round = 0; round < 2000; ++round) {
    std::string s(static_cast<std::size_t>(len(gen)), 'x');
    for (auto& c : s) c = static_cast<char>(byte(gen));
    auto back = parsed_back(untrusted(s));
    BOOST_TEST_REQUIRE(nyxgate::telemetry::valid_utf8(back));
    if (nyxgate::telemetry::valid_utf8(s)) BOOST_TEST_REQUIRE(back == s);
  }
}

BOOST_AUTO_TEST_SUITE_END()
