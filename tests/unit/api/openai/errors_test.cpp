// The one OpenAI error renderer: the JSON body, the WebSocket frame, each call error's code
// and type.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "api/openai/errors.hpp"

namespace api = nyxgate::api;
namespace actors = nyxgate::actors;
namespace json = boost::json;

BOOST_AUTO_TEST_SUITE(openai_errors_test)

BOOST_AUTO_TEST_CASE(the_body_is_openai_shaped_and_empty_fields_are_null) {
  auto body =
      api::render_error(api::error_fields{"bad \"x\"\n", "invalid_request_error", "", "model"});
  BOOST_TEST(body == R"({"error":{"message":"bad \"x\"\n","type":"invalid_request_error",)"
                     R"("code":null,"param":"model"}})");
  auto err = json::parse(body).at("error");
  BOOST_TEST(err.at("message").as_string() == "bad \"x\"\n");
}

BOOST_AUTO_TEST_CASE(a_websocket_frame_carries_the_id_and_a_status) {
  api::error_fields e{"no", "server_error", "keys_unavailable"};
  e.status = 503;
  auto frame = json::parse(api::render_ws_error("s\"1", e));
  BOOST_TEST(frame.at("type").as_string() == "error");
  BOOST_TEST(frame.at("id").as_string() == "s\"1");
  BOOST_TEST(frame.at("error").at("code").as_string() == "keys_unavailable");
  BOOST_TEST(frame.at("error").at("status").as_int64() == 503);
  auto anonymous = json::parse(api::render_ws_error("", api::error_fields{"m", "t", "c"}));
  BOOST_TEST(anonymous.as_object().if_contains("id") == nullptr);
  BOOST_TEST(anonymous.at("error").as_object().if_contains("status") == nullptr);
}

BOOST_AUTO_TEST_CASE(each_call_error_has_its_wire_code_and_type) {
  struct row {
    actors::call_error error;
    const char* code;
    const char* type;
    bool attempts;
  };
  using ce = actors::call_error;
  const row rows[] = {
      {ce::upstream_failed, "upstream_failed", "upstream_error", true},
      {ce::upstream_timeout, "upstream_timeout", "upstream_error", true},
      {ce::upstream_rejected, "upstream_rejected", "invalid_request_error", false},
      {ce::keys_unavailable, "keys_unavailable", "server_error", false},
      {ce::no_provider_key, "no_provider_key", "invalid_request_error", false},
      {ce::invalid_request, "invalid_request", "invalid_request_error", false},
      {ce::server_shutting_down, "server_shutting_down", "server_error", false},
      {ce::stream_interrupted, "stream_interrupted", "upstream_error", false},
  };
  for (const auto& r : rows) {
    actors::call_failure f;
    f.error = r.error;
    f.status = 418;
    auto e = api::failure_fields(f, true);
    BOOST_TEST(e.code == r.code);
    BOOST_TEST(e.type == r.type);
    BOOST_TEST((e.attempts != nullptr) == r.attempts);
    BOOST_TEST(e.status == 418u);
    BOOST_TEST(api::failure_fields(f, false).status == 0u);
  }
}

BOOST_AUTO_TEST_CASE(a_request_error_keeps_its_own_code_and_a_rejection_its_type) {
  actors::call_failure bad;
  bad.error = actors::call_error::invalid_request;
  bad.code = "unsupported_parameter";
  bad.param = "seed";
  auto e = api::failure_fields(bad, false);
  BOOST_TEST(e.code == "unsupported_parameter");
  BOOST_TEST(e.param == "seed");
  actors::call_failure rejected;
  rejected.error = actors::call_error::upstream_rejected;
  rejected.type = "context_length_exceeded";
  BOOST_TEST(api::failure_fields(rejected, false).type == "context_length_exceeded");
}

BOOST_AUTO_TEST_SUITE_END()
