#pragma once
// A chat request body a test means to be valid, parsed: the test fails where it is not.

#include <string_view>
#include <utility>
#include <variant>

#include <boost/test/unit_test.hpp>

#include "providers/chat.hpp"

namespace nyxgate::providers::test {

inline chat_request parsed(std::string_view body) {
  auto r = parse_chat_request(body);
  if (auto* e = std::get_if<request_error>(&r)) BOOST_FAIL("unexpected error: " << e->message);
  return std::get<chat_request>(std::move(r));
}

}  // namespace nyxgate::providers::test
