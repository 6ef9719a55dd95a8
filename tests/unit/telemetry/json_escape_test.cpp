// JSON string escaping: the word-at-a-time scan must escape exactly what the byte-wise rule
// escapes, wherever in a word the special byte sits.
#include <boost/test/unit_test.hpp>

#include <random>
#include <string>

#include "telemetry/json_escape.hpp"

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

BOOST_AUTO_TEST_SUITE_END()
