#include "identity/token.hpp"

#include <set>
#include <string>

#include <boost/test/unit_test.hpp>

using namespace nyxgate::identity;

namespace {

bool all_of_set(std::string_view s, std::string_view allowed) {
  return s.find_first_not_of(allowed) == std::string_view::npos;
}

constexpr std::string_view lower_hex = "0123456789abcdef";

}  // namespace

BOOST_AUTO_TEST_SUITE(identity_token)

BOOST_AUTO_TEST_CASE(generated_token_has_prefix_length_and_alphabet) {
  auto t = generate_token();
  BOOST_TEST(t.size() == 47u);
  BOOST_TEST(t.starts_with("ngt_"));
  BOOST_TEST(all_of_set(std::string_view(t).substr(4),
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"));
  BOOST_TEST(looks_like_token(t));
}

BOOST_AUTO_TEST_CASE(thousand_tokens_are_distinct_and_well_formed) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto t = generate_token();
    BOOST_REQUIRE(looks_like_token(t));
    seen.insert(std::move(t));
  }
  BOOST_TEST(seen.size() == 1000u);
}

BOOST_AUTO_TEST_CASE(looks_like_token_rejects_other_shapes) {
  const std::string good = "ngt_" + std::string(42, 'A') + "A";
  BOOST_TEST(looks_like_token(good));
  BOOST_TEST(!looks_like_token(""));
  BOOST_TEST(!looks_like_token("ngt_"));
  BOOST_TEST(!looks_like_token(good.substr(0, 46)));                   // too short
  BOOST_TEST(!looks_like_token(good + "A"));                           // too long
  BOOST_TEST(!looks_like_token("ngx_" + good.substr(4)));              // wrong prefix
  BOOST_TEST(!looks_like_token("NGT_" + good.substr(4)));              // prefix is case-sensitive
  BOOST_TEST(!looks_like_token("ngt_" + std::string(42, 'A') + "+"));  // base64, not base64url
  BOOST_TEST(!looks_like_token("ngt_" + std::string(42, 'A') + "="));
  BOOST_TEST(!looks_like_token("ngt_" + std::string(41, 'A') + " A"));
  BOOST_TEST(!looks_like_token("ngt_" + std::string(42, 'A') + "B"));  // not canonical
}

BOOST_AUTO_TEST_CASE(sha256_known_vectors) {
  BOOST_TEST(sha256_hex("abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(sha256_hex(std::string_view("a\0b", 3)) != sha256_hex("ab"));  // binary-safe
}

BOOST_AUTO_TEST_CASE(constant_time_equal_compares_content_and_length) {
  BOOST_TEST(constant_time_equal("", ""));
  BOOST_TEST(constant_time_equal("secret", "secret"));
  BOOST_TEST(!constant_time_equal("secret", "secreT"));
  BOOST_TEST(!constant_time_equal("secret", "secret2"));
  BOOST_TEST(!constant_time_equal("", "x"));
}

BOOST_AUTO_TEST_CASE(parse_bearer_cases) {
  struct row {
    std::string_view header;
    std::optional<std::string_view> token;
  };
  const row rows[] = {
      {"Bearer ngt_abc", "ngt_abc"},
      {"bearer ngt_abc", "ngt_abc"},
      {"BEARER ngt_abc", "ngt_abc"},
      {"Bearer    ngt_abc", "ngt_abc"},
      {"Bearer\tngt_abc", "ngt_abc"},
      {"  Bearer ngt_abc  ", "ngt_abc"},
      {"Bearer", std::nullopt},
      {"Bearer ", std::nullopt},
      {"Bearer    ", std::nullopt},
      {"Bearerngt_abc", std::nullopt},
      {"Basic dXNlcjpwYXNz", std::nullopt},
      {"ngt_abc", std::nullopt},
      {"", std::nullopt},
      {"Bearer a b", std::nullopt},
      {"Bearer a\x01", std::nullopt},
      {"Token ngt_abc", std::nullopt},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("'" << r.header << "'") {
      auto got = parse_bearer(r.header);
      BOOST_TEST(got.has_value() == r.token.has_value());
      if (got && r.token) BOOST_TEST(*got == *r.token);
    }
  }
}

BOOST_AUTO_TEST_CASE(request_ids_are_32_lower_hex_and_distinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = new_request_id();
    BOOST_REQUIRE_EQUAL(id.size(), 32u);
    BOOST_REQUIRE(all_of_set(id, lower_hex));
    seen.insert(id);
  }
  BOOST_TEST(seen.size() == 1000u);
}

BOOST_AUTO_TEST_CASE(uuids_are_version_4) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto u = new_uuid();
    BOOST_REQUIRE_EQUAL(u.size(), 36u);
    for (std::size_t p : {8u, 13u, 18u, 23u}) BOOST_TEST(u[p] == '-');
    BOOST_TEST(u[14] == '4');
    BOOST_TEST(std::string_view("89ab").find(u[19]) != std::string_view::npos);
    std::string hex = u;
    std::erase(hex, '-');
    BOOST_TEST(all_of_set(hex, lower_hex));
    seen.insert(u);
  }
  BOOST_TEST(seen.size() == 200u);
}

BOOST_AUTO_TEST_SUITE_END()
