#include "api/trpc/codec.hpp"

#include <cctype>
#include <string>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "api/trpc/input.hpp"

namespace json = boost::json;
using namespace nyxgate::api;

namespace {

const trpc_parse_limits limits{};

trpc_request parse_ok(std::string_view method, std::string_view target, std::string_view body = {},
                      const trpc_parse_limits& l = limits) {
  auto r = parse_trpc_request(method, target, body, l);
  if (auto* err = std::get_if<trpc_error>(&r))
    BOOST_FAIL("unexpected error: " << trpc_code_name(err->code) << " " << err->message);
  return std::get<trpc_request>(std::move(r));
}

trpc_error parse_err(std::string_view method, std::string_view target, std::string_view body = {},
                     const trpc_parse_limits& l = limits) {
  auto r = parse_trpc_request(method, target, body, l);
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<trpc_error>(r), "expected an error for " << target);
  return std::get<trpc_error>(std::move(r));
}

/// encodeURIComponent, as @trpc/client applies it to ?input=.
std::string encode(std::string_view s) {
  static constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || std::string_view("-_.!~*'()").find(c) != std::string_view::npos) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    }
  }
  return out;
}

json::value body_of(const trpc_http_reply& reply) {
  return json::parse(reply.body);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(trpc_codec)

BOOST_AUTO_TEST_CASE(codes_match_trpc_server_tables) {
  struct row {
    trpc_code code;
    std::string_view name;
    int json_rpc;
    unsigned http;
  };
  const row rows[] = {
      {trpc_code::parse_error, "PARSE_ERROR", -32700, 400},
      {trpc_code::bad_request, "BAD_REQUEST", -32600, 400},
      {trpc_code::unauthorized, "UNAUTHORIZED", -32001, 401},
      {trpc_code::payment_required, "PAYMENT_REQUIRED", -32002, 402},
      {trpc_code::forbidden, "FORBIDDEN", -32003, 403},
      {trpc_code::not_found, "NOT_FOUND", -32004, 404},
      {trpc_code::method_not_supported, "METHOD_NOT_SUPPORTED", -32005, 405},
      {trpc_code::timeout, "TIMEOUT", -32008, 408},
      {trpc_code::conflict, "CONFLICT", -32009, 409},
      {trpc_code::precondition_failed, "PRECONDITION_FAILED", -32012, 412},
      {trpc_code::payload_too_large, "PAYLOAD_TOO_LARGE", -32013, 413},
      {trpc_code::unsupported_media_type, "UNSUPPORTED_MEDIA_TYPE", -32015, 415},
      {trpc_code::unprocessable_content, "UNPROCESSABLE_CONTENT", -32022, 422},
      {trpc_code::precondition_required, "PRECONDITION_REQUIRED", -32028, 428},
      {trpc_code::too_many_requests, "TOO_MANY_REQUESTS", -32029, 429},
      {trpc_code::client_closed_request, "CLIENT_CLOSED_REQUEST", -32099, 499},
      {trpc_code::internal_server_error, "INTERNAL_SERVER_ERROR", -32603, 500},
      {trpc_code::not_implemented, "NOT_IMPLEMENTED", -32603, 501},
      {trpc_code::bad_gateway, "BAD_GATEWAY", -32603, 502},
      {trpc_code::service_unavailable, "SERVICE_UNAVAILABLE", -32603, 503},
      {trpc_code::gateway_timeout, "GATEWAY_TIMEOUT", -32603, 504},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      BOOST_TEST(trpc_code_name(r.code) == r.name);
      BOOST_TEST(trpc_json_rpc_code(r.code) == r.json_rpc);
      BOOST_TEST(trpc_http_status(r.code) == r.http);
    }
  }
}

BOOST_AUTO_TEST_CASE(get_query_single_call_with_url_encoded_input) {
  auto target = "/trpc/members.list?input=" + encode(R"({"q":"a b&c=d","n":1})");
  auto req = parse_ok("GET", target);
  BOOST_TEST(!req.batch);
  BOOST_TEST((req.kind == trpc_kind::query));
  BOOST_REQUIRE_EQUAL(req.calls.size(), 1u);
  BOOST_TEST(req.calls[0].path == "members.list");
  BOOST_REQUIRE(req.calls[0].input.has_value());
  BOOST_TEST(req.calls[0].input->at("q").as_string() == "a b&c=d");
  BOOST_TEST(req.calls[0].input->at("n").as_int64() == 1);
}

BOOST_AUTO_TEST_CASE(plus_in_query_string_means_space) {
  auto req = parse_ok("GET", R"(/trpc/a.b?input={"q":"x+y"})");
  BOOST_TEST(req.calls[0].input->at("q").as_string() == "x y");
}

BOOST_AUTO_TEST_CASE(other_query_parameters_are_ignored) {
  auto req = parse_ok("GET", "/trpc/a.b?foo=bar&input=" + encode("42") + "&x");
  BOOST_TEST(req.calls[0].input->as_int64() == 42);
}

BOOST_AUTO_TEST_CASE(post_mutation_takes_body_as_input) {
  auto req = parse_ok("POST", "/trpc/members.add", R"({"email":"a@b.c","role":"admin"})");
  BOOST_TEST((req.kind == trpc_kind::mutation));
  BOOST_REQUIRE_EQUAL(req.calls.size(), 1u);
  BOOST_TEST(req.calls[0].path == "members.add");
  BOOST_TEST(req.calls[0].input->at("role").as_string() == "admin");
}

BOOST_AUTO_TEST_CASE(post_ignores_input_query_parameter) {
  auto req = parse_ok("POST", "/trpc/a.b?input=1", "2");
  BOOST_TEST(req.calls[0].input->as_int64() == 2);
}

BOOST_AUTO_TEST_CASE(missing_input_is_undefined) {
  BOOST_TEST(!parse_ok("GET", "/trpc/tenants.current").calls[0].input.has_value());
  BOOST_TEST(!parse_ok("GET", "/trpc/tenants.current?input=").calls[0].input.has_value());
  BOOST_TEST(!parse_ok("POST", "/trpc/tokens.create").calls[0].input.has_value());
}

BOOST_AUTO_TEST_CASE(null_input_is_not_undefined) {
  auto req = parse_ok("POST", "/trpc/a.b", "null");
  BOOST_REQUIRE(req.calls[0].input.has_value());
  BOOST_TEST(req.calls[0].input->is_null());
}

BOOST_AUTO_TEST_CASE(batch_get_splits_paths_and_inputs) {
  auto target = "/trpc/members.list,tenants.current,apiKeys.list?batch=1&input=" +
                encode(R"({"0":{"a":1},"2":null})");
  auto req = parse_ok("GET", target);
  BOOST_TEST(req.batch);
  BOOST_REQUIRE_EQUAL(req.calls.size(), 3u);
  BOOST_TEST(req.calls[0].path == "members.list");
  BOOST_TEST(req.calls[1].path == "tenants.current");
  BOOST_TEST(req.calls[2].path == "apiKeys.list");
  BOOST_TEST(req.calls[0].input->at("a").as_int64() == 1);
  BOOST_TEST(!req.calls[1].input.has_value());  // absent key: undefined
  BOOST_REQUIRE(req.calls[2].input.has_value());
  BOOST_TEST(req.calls[2].input->is_null());
}

BOOST_AUTO_TEST_CASE(batch_post_reads_inputs_from_body) {
  auto req = parse_ok("POST", "/trpc/members.add,members.remove?batch=1",
                      R"({"0":{"email":"x@y.z"},"1":{"userId":"u"}})");
  BOOST_TEST(req.batch);
  BOOST_TEST((req.kind == trpc_kind::mutation));
  BOOST_REQUIRE_EQUAL(req.calls.size(), 2u);
  BOOST_TEST(req.calls[0].input->at("email").as_string() == "x@y.z");
  BOOST_TEST(req.calls[1].input->at("userId").as_string() == "u");
}

BOOST_AUTO_TEST_CASE(batch_without_input_is_all_undefined) {
  auto req = parse_ok("GET", "/trpc/a,b?batch=1&input=" + encode("{}"));
  BOOST_REQUIRE_EQUAL(req.calls.size(), 2u);
  BOOST_TEST(!req.calls[0].input.has_value());
  BOOST_TEST(!req.calls[1].input.has_value());
  auto req2 = parse_ok("POST", "/trpc/a,b?batch=1");
  BOOST_TEST(!req2.calls[1].input.has_value());
}

BOOST_AUTO_TEST_CASE(comma_without_batch_flag_is_one_path) {
  auto req = parse_ok("GET", "/trpc/a,b");
  BOOST_REQUIRE_EQUAL(req.calls.size(), 1u);
  BOOST_TEST(req.calls[0].path == "a,b");
}

BOOST_AUTO_TEST_CASE(batch_input_must_be_an_object) {
  for (std::string_view body : {"[1,2]", "null", "3", "\"x\""}) {
    BOOST_TEST_CONTEXT(body) {
      auto err = parse_err("POST", "/trpc/a,b?batch=1", body);
      BOOST_TEST((err.code == trpc_code::bad_request));
      BOOST_TEST(err.message.find("object") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(batch_over_limit_is_bad_request) {
  trpc_parse_limits small{.max_batch = 2, .max_json_depth = 64};
  parse_ok("GET", "/trpc/a,b?batch=1", {}, small);
  auto err = parse_err("GET", "/trpc/a,b,c?batch=1", {}, small);
  BOOST_TEST((err.code == trpc_code::bad_request));
  BOOST_TEST(err.message.find("Batch") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(malformed_json_is_parse_error) {
  for (std::string_view body : {"{", "{\"a\":}", "nope", "   ", "{\"a\":1}x", "[1,]"}) {
    BOOST_TEST_CONTEXT(body) {
      auto err = parse_err("POST", "/trpc/a.b", body);
      BOOST_TEST((err.code == trpc_code::parse_error));
    }
  }
  auto err = parse_err("GET", "/trpc/a.b?input=" + encode("{'a':1}"));
  BOOST_TEST((err.code == trpc_code::parse_error));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_in_json_is_parse_error) {
  auto err = parse_err("POST", "/trpc/a.b", "\"\xff\"");
  BOOST_TEST((err.code == trpc_code::parse_error));
}

BOOST_AUTO_TEST_CASE(bad_percent_encoding_is_rejected) {
  for (std::string_view target :
       {"/trpc/a.b?input=%7", "/trpc/a.b?input=%zz", "/trpc/a.b?input=%FF", "/trpc/a.b?in%g=1"}) {
    BOOST_TEST_CONTEXT(target) {
      BOOST_TEST((parse_err("GET", target).code == trpc_code::parse_error));
    }
  }
  BOOST_TEST((parse_err("GET", "/trpc/a%2").code == trpc_code::bad_request));
  BOOST_TEST((parse_err("GET", "/trpc/a%C0%AF").code == trpc_code::bad_request));  // overlong
}

BOOST_AUTO_TEST_CASE(percent_encoded_path_is_decoded) {
  auto req = parse_ok("GET", "/trpc/projects%2Edocs.list");
  BOOST_TEST(req.calls[0].path == "projects.docs.list");
}

BOOST_AUTO_TEST_CASE(too_deep_json_is_rejected) {
  trpc_parse_limits shallow{.max_batch = 32, .max_json_depth = 4};
  parse_ok("POST", "/trpc/a", "[[[[1]]]]", shallow);
  auto err = parse_err("POST", "/trpc/a", "[[[[[1]]]]]", shallow);
  BOOST_TEST((err.code == trpc_code::bad_request));
  BOOST_TEST(err.message.find("deeper") != std::string::npos);

  std::string deep(10000, '[');
  deep += std::string(10000, ']');
  BOOST_TEST((parse_err("POST", "/trpc/a", deep).code == trpc_code::bad_request));
}

BOOST_AUTO_TEST_CASE(missing_procedure_path_is_bad_request) {
  for (std::string_view target : {"/trpc/", "/trpc/?input=1", "/trpc/a,,b?batch=1",
                                  "/trpc/a,?batch=1", "/other/a.b", "/trpc/a%00b"}) {
    BOOST_TEST_CONTEXT(target) {
      BOOST_TEST((parse_err("GET", target).code == trpc_code::bad_request));
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_http_method_is_method_not_supported) {
  for (std::string_view method : {"PUT", "DELETE", "PATCH", "get", "HEAD"}) {
    BOOST_TEST_CONTEXT(method) {
      BOOST_TEST((parse_err(method, "/trpc/a.b").code == trpc_code::method_not_supported));
    }
  }
}

BOOST_AUTO_TEST_CASE(method_mismatch_helper_follows_trpc) {
  BOOST_TEST(!check_trpc_method(trpc_kind::query, "GET", "a.b").has_value());
  BOOST_TEST(!check_trpc_method(trpc_kind::mutation, "POST", "a.b").has_value());
  auto q = check_trpc_method(trpc_kind::query, "POST", "members.list");
  BOOST_REQUIRE(q.has_value());
  BOOST_TEST((q->code == trpc_code::method_not_supported));
  BOOST_TEST(q->message == R"(Unsupported POST-request to query procedure at path "members.list")");
  auto m = check_trpc_method(trpc_kind::mutation, "GET", "members.add");
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST(m->message ==
             R"(Unsupported GET-request to mutation procedure at path "members.add")");
}

BOOST_AUTO_TEST_CASE(subscriptions_take_get_and_speak_sse_as_the_link_reads_it) {
  BOOST_TEST(!check_trpc_method(trpc_kind::subscription, "GET", "a.b").has_value());
  auto s = check_trpc_method(trpc_kind::subscription, "POST", "pipelines.onProgress");
  BOOST_REQUIRE(s.has_value());
  BOOST_TEST(
      s->message ==
      R"(Unsupported POST-request to subscription procedure at path "pipelines.onProgress")");
  BOOST_TEST(trpc_sse_connected() == "event: connected\ndata: {}\n\n");
  BOOST_TEST(trpc_sse_data(boost::json::value{{"a", "x\ny"}}) == "data: {\"a\":\"x\\ny\"}\n\n");
  BOOST_TEST(trpc_sse_return() == "event: return\ndata: \n\n");
  BOOST_TEST(trpc_sse_ping() == "event: ping\ndata: \n\n");
  BOOST_TEST(trpc_sse_error({trpc_code::not_found, "input.runId: no such run"}, "p.q") ==
             "event: serialized-error\ndata: {\"message\":\"input.runId: no such run\",\"code\":"
             "-32004,\"data\":{\"code\":\"NOT_FOUND\",\"httpStatus\":404,\"path\":\"p.q\"}}\n\n");
}

BOOST_AUTO_TEST_CASE(render_single_success) {
  trpc_request req{{{"tenants.current", std::nullopt}}, false, trpc_kind::query};
  auto reply = render_trpc_reply(req, {json::value(json::object{{"id", "t1"}})});
  BOOST_TEST(reply.status == 200u);
  auto v = body_of(reply);
  BOOST_TEST(v.as_object().size() == 1u);
  BOOST_TEST(v.at("result").at("data").at("id").as_string() == "t1");
}

BOOST_AUTO_TEST_CASE(render_single_null_data) {
  trpc_request req{{{"tokens.revoke", std::nullopt}}, false, trpc_kind::mutation};
  auto reply = render_trpc_reply(req, {json::value(nullptr)});
  BOOST_TEST(reply.body == R"({"result":{"data":null}})");
}

BOOST_AUTO_TEST_CASE(render_single_error_shape) {
  trpc_request req{{{"members.add", std::nullopt}}, false, trpc_kind::mutation};
  auto reply = render_trpc_reply(
      req, {trpc_error{trpc_code::bad_request, "input.email: expected a string"}});
  BOOST_TEST(reply.status == 400u);
  BOOST_TEST(reply.allow.empty());
  auto v = body_of(reply);
  BOOST_TEST(v.as_object().size() == 1u);
  const auto& e = v.at("error");
  BOOST_TEST(e.at("message").as_string() == "input.email: expected a string");
  BOOST_TEST(e.at("code").as_int64() == -32600);
  BOOST_TEST(e.at("data").at("code").as_string() == "BAD_REQUEST");
  BOOST_TEST(e.at("data").at("httpStatus").as_int64() == 400);
  BOOST_TEST(e.at("data").at("path").as_string() == "members.add");
}

BOOST_AUTO_TEST_CASE(render_escapes_message_text) {
  trpc_request req{{{"a", std::nullopt}}, false, trpc_kind::query};
  auto reply = render_trpc_reply(req, {trpc_error{trpc_code::not_found, "say \"hi\"\n</script>"}});
  BOOST_TEST(body_of(reply).at("error").at("message").as_string() == "say \"hi\"\n</script>");
}

BOOST_AUTO_TEST_CASE(render_405_names_allowed_method) {
  trpc_request get{{{"members.add", std::nullopt}}, false, trpc_kind::query};
  auto reply =
      render_trpc_reply(get, {*check_trpc_method(trpc_kind::mutation, "GET", "members.add")});
  BOOST_TEST(reply.status == 405u);
  BOOST_TEST(reply.allow == "POST");
}

BOOST_AUTO_TEST_CASE(render_batch_mixed_is_207_array) {
  trpc_request req{{{"a.ok", std::nullopt}, {"b.missing", std::nullopt}}, true, trpc_kind::query};
  auto reply = render_trpc_reply(
      req, {json::value(1), trpc_error{trpc_code::not_found, "No procedure found on path"}});
  BOOST_TEST(reply.status == 207u);
  auto v = body_of(reply);
  BOOST_REQUIRE(v.is_array());
  BOOST_REQUIRE_EQUAL(v.as_array().size(), 2u);
  BOOST_TEST(v.as_array()[0].at("result").at("data").as_int64() == 1);
  BOOST_TEST(v.as_array()[1].at("error").at("data").at("path").as_string() == "b.missing");
  BOOST_TEST(v.as_array()[1].at("error").at("code").as_int64() == -32004);
}

BOOST_AUTO_TEST_CASE(render_batch_status_is_common_status) {
  trpc_request req{{{"a", std::nullopt}, {"b", std::nullopt}}, true, trpc_kind::query};
  auto all_ok = render_trpc_reply(req, {json::value(1), json::value(2)});
  BOOST_TEST(all_ok.status == 200u);
  auto all_401 = render_trpc_reply(
      req, {trpc_error{trpc_code::unauthorized, "x"}, trpc_error{trpc_code::unauthorized, "y"}});
  BOOST_TEST(all_401.status == 401u);
  BOOST_TEST(body_of(all_401).as_array().size() == 2u);
  // Different codes with the same HTTP status still share it, as in tRPC.
  auto both_400 = render_trpc_reply(
      req, {trpc_error{trpc_code::bad_request, "x"}, trpc_error{trpc_code::parse_error, "y"}});
  BOOST_TEST(both_400.status == 400u);
  auto mixed_errors = render_trpc_reply(
      req, {trpc_error{trpc_code::forbidden, "x"}, trpc_error{trpc_code::not_found, "y"}});
  BOOST_TEST(mixed_errors.status == 207u);
}

BOOST_AUTO_TEST_CASE(render_batch_of_one_is_still_an_array) {
  trpc_request req{{{"a", std::nullopt}}, true, trpc_kind::query};
  auto reply = render_trpc_reply(req, {json::value("x")});
  BOOST_TEST(reply.body == R"([{"result":{"data":"x"}}])");
}

BOOST_AUTO_TEST_CASE(render_missing_outcome_is_internal_error) {
  trpc_request req{{{"a", std::nullopt}, {"b", std::nullopt}}, true, trpc_kind::query};
  auto reply = render_trpc_reply(req, {json::value(1)});
  BOOST_TEST(reply.status == 207u);
  BOOST_TEST(body_of(reply).as_array()[1].at("error").at("data").at("httpStatus").as_int64() ==
             500);
}

BOOST_AUTO_TEST_CASE(render_error_without_path_omits_it) {
  auto reply = render_trpc_error({trpc_code::parse_error, "input is not valid JSON"});
  BOOST_TEST(reply.status == 400u);
  auto v = body_of(reply);
  BOOST_TEST(v.at("error").at("code").as_int64() == -32700);
  BOOST_TEST(v.at("error").at("data").at("code").as_string() == "PARSE_ERROR");
  BOOST_TEST(!v.at("error").at("data").as_object().contains("path"));
  auto with_path = render_trpc_error({trpc_code::unauthorized, "no"}, "members.list");
  BOOST_TEST(with_path.status == 401u);
  BOOST_TEST(body_of(with_path).at("error").at("data").at("path").as_string() == "members.list");
  BOOST_TEST(render_trpc_error({trpc_code::method_not_supported, "PUT"}).allow == "GET, POST");
}

BOOST_AUTO_TEST_CASE(parse_then_render_round_trip) {
  auto req = parse_ok("GET", "/trpc/x.y,z?batch=1&input=" + encode(R"({"1":{"k":[1,2]}})"));
  std::vector<trpc_outcome> outcomes{json::value(nullptr), *req.calls[1].input};
  auto reply = render_trpc_reply(req, outcomes);
  BOOST_TEST(reply.body == R"([{"result":{"data":null}},{"result":{"data":{"k":[1,2]}}}])");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(trpc_input_reader)

namespace {

std::optional<json::value> obj(std::string_view text) {
  return json::parse(text);
}

std::string message_of(const input_reader& r) {
  return r.error() ? r.error()->message : std::string("<no error>");
}

}  // namespace

BOOST_AUTO_TEST_CASE(reads_every_kind_of_field) {
  auto in = obj(R"({"name":"Ann","note":"hi","role":"admin","kind":"x",
                    "id":"0A1B2C3D-4E5F-6789-ABCD-EF0123456789","email":"Ann@Example.COM",
                    "flag":true,"n":5,"nested":{"k":1}})");
  input_reader r(in);
  BOOST_TEST(r.required_string("name") == "Ann");
  BOOST_TEST(r.optional_string("note").value() == "hi");
  BOOST_TEST(!r.optional_string("absent").has_value());
  BOOST_TEST(r.required_enum("role", {"owner", "admin", "member"}) == "admin");
  BOOST_TEST(r.optional_enum("kind", {"x", "y"}).value() == "x");
  BOOST_TEST(r.required_uuid("id") == "0a1b2c3d-4e5f-6789-abcd-ef0123456789");
  BOOST_TEST(r.required_email("email") == "ann@example.com");
  BOOST_TEST(r.optional_bool("flag").value() == true);
  BOOST_TEST(r.optional_int("n", 1, 10).value() == 5);
  const auto* nested = r.optional_value("nested");
  BOOST_REQUIRE(nested != nullptr);
  BOOST_TEST(nested->at("k").as_int64() == 1);
  r.finish();
  BOOST_TEST(r.ok());
  BOOST_TEST(!r.error().has_value());
}

BOOST_AUTO_TEST_CASE(unknown_key_is_rejected_by_finish) {
  auto in = obj(R"({"email":"a@b.c","tenantId":"t"})");
  input_reader r(in);
  r.required_email("email");
  BOOST_TEST(r.ok());
  r.finish();
  BOOST_TEST(!r.ok());
  BOOST_TEST((r.error()->code == trpc_code::bad_request));
  BOOST_TEST(message_of(r) == R"(input: unknown key "tenantId")");
}

BOOST_AUTO_TEST_CASE(unknown_key_message_is_escaped_and_bounded) {
  auto in = obj(R"({"a\"b":1})");
  input_reader r(in);
  r.finish();
  BOOST_TEST(message_of(r) == R"(input: unknown key "a\"b")");
  std::string long_key(500, 'k');
  std::optional<json::value> big = json::value(json::object{{long_key, 1}});
  input_reader r2(big);
  r2.finish();
  BOOST_TEST(message_of(r2).size() < 100u);
}

BOOST_AUTO_TEST_CASE(input_must_be_an_object) {
  for (std::string_view text : {"[]", "1", "\"s\"", "true"}) {
    BOOST_TEST_CONTEXT(text) {
      auto in = obj(text);
      input_reader r(in);
      BOOST_TEST(message_of(r) == "input: expected an object");
      BOOST_TEST(r.required_string("x").empty());  // failed readers return empty values
    }
  }
  input_reader undefined(std::nullopt);
  BOOST_TEST(message_of(undefined) == "input: expected an object");
  auto null_input = obj("null");
  input_reader null(null_input);
  BOOST_TEST(message_of(null) == "input: expected an object");
}

BOOST_AUTO_TEST_CASE(allow_undefined_reads_as_empty_object) {
  input_reader r(std::nullopt, true);
  BOOST_TEST(!r.optional_string("x").has_value());
  r.finish();
  BOOST_TEST(r.ok());
  auto null_input = obj("null");
  input_reader n(null_input, true);
  n.finish();
  BOOST_TEST(n.ok());
  input_reader missing(std::nullopt, true);
  missing.required_string("name");
  BOOST_TEST(message_of(missing) == "input.name: required");
}

BOOST_AUTO_TEST_CASE(wrong_types_name_the_field) {
  struct row {
    std::string_view input;
    std::string_view expected;
    void (*read)(input_reader&);
  };
  const row rows[] = {
      {R"({"email":5})", "input.email: expected a string",
       [](input_reader& r) { r.required_email("email"); }},
      {R"({"name":5})", "input.name: expected a string",
       [](input_reader& r) { r.required_string("name"); }},
      {R"({"note":[]})", "input.note: expected a string",
       [](input_reader& r) { r.optional_string("note"); }},
      {R"({"role":"king"})", "input.role: must be one of owner, admin, member",
       [](input_reader& r) {
         r.required_enum("role", {"owner", "admin", "member"});
       }},
      {R"({"role":1})", "input.role: must be one of owner, admin, member",
       [](input_reader& r) {
         r.optional_enum("role", {"owner", "admin", "member"});
       }},
      {R"({"id":"not-a-uuid"})", "input.id: expected a UUID",
       [](input_reader& r) { r.required_uuid("id"); }},
      {R"({"id":"0a1b2c3d-4e5f-6789-abcd-ef012345678g"})", "input.id: expected a UUID",
       [](input_reader& r) { r.required_uuid("id"); }},
      {R"({"id":"0a1b2c3d4e5f-6789-abcd-ef0123456789-"})", "input.id: expected a UUID",
       [](input_reader& r) { r.required_uuid("id"); }},
      {R"({"email":"no-at-sign"})", "input.email: expected an email address",
       [](input_reader& r) { r.required_email("email"); }},
      {R"({"email":"a@b@c"})", "input.email: expected an email address",
       [](input_reader& r) { r.required_email("email"); }},
      {R"({"email":"a b@c.d"})", "input.email: expected an email address",
       [](input_reader& r) { r.required_email("email"); }},
      {R"({"email":"@c.d"})", "input.email: expected an email address",
       [](input_reader& r) { r.required_email("email"); }},
      {R"({"email":"a@"})", "input.email: expected an email address",
       [](input_reader& r) { r.required_email("email"); }},
      {R"({"flag":"true"})", "input.flag: expected a boolean",
       [](input_reader& r) { r.optional_bool("flag"); }},
      {R"({"n":"5"})", "input.n: expected an integer",
       [](input_reader& r) { r.optional_int("n", 0, 10); }},
      {R"({"n":1.5})", "input.n: expected an integer",
       [](input_reader& r) { r.optional_int("n", 0, 10); }},
      {R"({"n":11})", "input.n: must be between 0 and 10",
       [](input_reader& r) { r.optional_int("n", 0, 10); }},
      {R"({"n":-1})", "input.n: must be between 0 and 10",
       [](input_reader& r) { r.optional_int("n", 0, 10); }},
      {R"({"n":18446744073709551615})", "input.n: must be between 0 and 10",
       [](input_reader& r) { r.optional_int("n", 0, 10); }},
      {R"({"n":1e300})", "input.n: must be between 0 and 10",
       [](input_reader& r) { r.optional_int("n", 0, 10); }},
      {R"({})", "input.name: required", [](input_reader& r) { r.required_string("name"); }},
      {R"({"name":null})", "input.name: expected a string",
       [](input_reader& r) { r.required_string("name"); }},
      {R"({"name":""})", "input.name: must not be empty",
       [](input_reader& r) { r.required_string("name"); }},
      {R"({"name":"ab"})", "input.name: must be at least 3 characters",
       [](input_reader& r) { r.required_string("name", 3, 10); }},
      {R"({"name":"abcd"})", "input.name: must be at most 3 characters",
       [](input_reader& r) { r.required_string("name", 1, 3); }},
      {R"({"name":"a\u0000b"})", "input.name: must not contain NUL characters",
       [](input_reader& r) { r.required_string("name"); }},
      {R"({})", "input.id: required", [](input_reader& r) { r.required_uuid("id"); }},
      {R"({})", "input.role: required", [](input_reader& r) { r.required_enum("role", {"a"}); }},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.input << " → " << row.expected) {
      auto in = obj(row.input);
      input_reader r(in);
      row.read(r);
      BOOST_TEST(!r.ok());
      BOOST_TEST(message_of(r) == row.expected);
      BOOST_TEST((r.error()->code == trpc_code::bad_request));
    }
  }
}

BOOST_AUTO_TEST_CASE(lengths_count_code_points) {
  auto in = obj(R"({"name":"ééé"})");  // 6 bytes, 3 code points
  input_reader r(in);
  BOOST_TEST(r.required_string("name", 1, 3) == "ééé");
  BOOST_TEST(r.ok());
}

BOOST_AUTO_TEST_CASE(strings_are_kept_exactly) {
  auto in = obj(R"({"name":"  padded  "})");
  input_reader r(in);
  BOOST_TEST(r.required_string("name") == "  padded  ");
}

BOOST_AUTO_TEST_CASE(optional_fields_accept_null_as_absent) {
  auto in = obj(R"({"a":null,"b":null,"c":null,"d":null})");
  input_reader r(in);
  BOOST_TEST(!r.optional_string("a").has_value());
  BOOST_TEST(!r.optional_bool("b").has_value());
  BOOST_TEST(!r.optional_int("c", 0, 1).has_value());
  BOOST_TEST(!r.optional_enum("d", {"x"}).has_value());
  r.finish();
  BOOST_TEST(r.ok());
}

BOOST_AUTO_TEST_CASE(integral_doubles_count_as_integers) {
  auto in = obj(R"({"n":3.0,"m":1e3})");
  input_reader r(in);
  BOOST_TEST(r.optional_int("n", 0, 10).value() == 3);
  BOOST_TEST(r.optional_int("m", 0, 5000).value() == 1000);
  BOOST_TEST(r.ok());
}

BOOST_AUTO_TEST_CASE(first_failure_wins) {
  auto in = obj(R"({"a":1,"b":2,"zzz":3})");
  input_reader r(in);
  r.required_string("a");
  r.optional_bool("b");
  r.finish();
  BOOST_TEST(message_of(r) == "input.a: expected a string");
}

BOOST_AUTO_TEST_CASE(keys_read_after_a_failure_are_not_reported_unknown) {
  auto in = obj(R"({"a":1})");
  input_reader r(in);
  r.required_string("missing");
  r.optional_int("a", 0, 5);
  r.finish();
  BOOST_TEST(message_of(r) == "input.missing: required");
}

BOOST_AUTO_TEST_CASE(nested_reader_prefixes_field_names) {
  auto in = obj(R"({"models":{"primary":3,"extra":1}})");
  input_reader outer(in);
  input_reader inner(outer.optional_value("models"), "input.models");
  inner.optional_string("primary");
  BOOST_TEST(message_of(inner) == "input.models.primary: expected a string");
  input_reader inner2(outer.optional_value("models"), "input.models");
  inner2.optional_value("primary");
  inner2.finish();
  BOOST_TEST(message_of(inner2) == R"(input.models: unknown key "extra")");
  input_reader absent(nullptr, "input.models", true);
  absent.finish();
  BOOST_TEST(absent.ok());
}

BOOST_AUTO_TEST_CASE(custom_failure_through_fail) {
  auto in = obj("{}");
  input_reader r(in);
  r.fail("maxTokens", "must not exceed the model's limit");
  r.fail("other", "ignored");
  BOOST_TEST(message_of(r) == "input.maxTokens: must not exceed the model's limit");
}

BOOST_AUTO_TEST_CASE(utf8_validator) {
  BOOST_TEST(detail::valid_utf8("plain ascii"));
  BOOST_TEST(detail::valid_utf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
  BOOST_TEST(!detail::valid_utf8("\xc3"));              // truncated
  BOOST_TEST(!detail::valid_utf8("\xc0\xaf"));          // overlong
  BOOST_TEST(!detail::valid_utf8("\xed\xa0\x80"));      // surrogate
  BOOST_TEST(!detail::valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  BOOST_TEST(!detail::valid_utf8("\x80"));              // stray continuation
  BOOST_TEST(!detail::valid_utf8("\xe2\x82"));          // truncated 3-byte
}

BOOST_AUTO_TEST_CASE(invalid_utf8_built_in_code_is_rejected) {
  std::optional<json::value> in = json::value(json::object{{"name", "a\xff"}});
  input_reader r(in);
  r.required_string("name");
  BOOST_TEST(message_of(r) == "input.name: must be valid UTF-8");
}

BOOST_AUTO_TEST_SUITE_END()
