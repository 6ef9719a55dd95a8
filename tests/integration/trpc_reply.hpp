#pragma once

#include <string>

#include <boost/json.hpp>

#include "tests/integration/node_fixture.hpp"

/// Reading a tRPC reply in a test: its error's code and message ("" for a result).
namespace nyxgate::testing {

inline std::string code_of(const http_reply& r) {
  const auto* e = r.body.is_object() ? r.body.as_object().if_contains("error") : nullptr;
  return e ? std::string{e->at("data").at("code").as_string()} : "";
}

inline std::string message_of(const http_reply& r) {
  const auto* e = r.body.is_object() ? r.body.as_object().if_contains("error") : nullptr;
  return e ? std::string{e->at("message").as_string()} : "";
}

}  // namespace nyxgate::testing
