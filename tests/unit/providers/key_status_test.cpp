// Key statuses have one spelling, shared by the api_keys.status column and the tRPC replies.
#include <boost/test/unit_test.hpp>

#include "providers/key_status.hpp"

using namespace nyxgate::providers;

BOOST_AUTO_TEST_SUITE(key_status_test)

BOOST_AUTO_TEST_CASE(each_status_reads_back_from_its_text) {
  for (auto s :
       {key_status::active, key_status::cooldown, key_status::invalid, key_status::revoked}) {
    BOOST_TEST_CONTEXT(s) {
      BOOST_TEST((parse_key_status(to_string(s)) == s));
    }
  }
  BOOST_TEST(to_string(key_status::revoked) == "revoked");
}

BOOST_AUTO_TEST_CASE(unknown_text_is_no_status) {
  for (const char* text : {"", "Active", "disabled", "revoked "})
    BOOST_TEST((parse_key_status(text) == std::nullopt), text);
}

BOOST_AUTO_TEST_SUITE_END()
