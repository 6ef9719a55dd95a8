// Tools, images and structured output in OpenAI's chat shape: what parse_chat_request reads
// into the request's structure, which 400 each bad value gets (naming its field), and what an
// OpenAI-compatible provider's body holds for them.
#include <string>
#include <string_view>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "providers/chat.hpp"
#include "tests/unit/providers/parsed_request.hpp"

using namespace nyxgate::providers;
namespace json = boost::json;
using nyxgate::providers::test::parsed;

namespace {

request_error error_of(std::string_view body) {
  auto r = parse_chat_request(body);
  auto* e = std::get_if<request_error>(&r);
  BOOST_REQUIRE_MESSAGE(e, "accepted: " << body);
  return *e;
}

/// A body of one user message "hi" and `extra` top-level fields.
std::string with(std::string_view extra) {
  std::string out = R"({"model":"m","messages":[{"role":"user","content":"hi"}])";
  if (!extra.empty()) out.append(",").append(extra);
  return out + "}";
}

/// A body of `messages` (a JSON array's inside).
std::string messages(std::string_view list, std::string_view extra = {}) {
  std::string out = R"({"model":"m","messages":[)";
  out.append(list).append("]");
  if (!extra.empty()) out.append(",").append(extra);
  return out + "}";
}

constexpr std::string_view weather_tool =
    R"({"type":"function","function":{"name":"get_weather","description":"Weather now",)"
    R"("parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},)"
    R"("strict":true}})";

constexpr std::string_view a_call_and_its_result =
    R"({"role":"user","content":"weather in Paris?"},)"
    R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",)"
    R"("function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},)"
    R"({"role":"tool","tool_call_id":"call_1","content":"sunny"})";

json::value openai_body(const chat_request& req, std::string_view provider = "openai") {
  return json::parse(build_upstream_request(provider, "https://up.test", "k", req, "m", 9).body);
}

/// A base64 payload of `n` characters.
std::string base64_of(std::size_t n) {
  return std::string(n, 'A');
}

}  // namespace

BOOST_AUTO_TEST_SUITE(chat_tools_request_test)

BOOST_AUTO_TEST_CASE(tools_are_read_into_definitions_and_kept_verbatim) {
  auto req = parsed(with(std::string{R"("tools":[)"} + std::string{weather_tool} +
                         R"(,{"type":"function","function":{"name":"now"}}],)"
                         R"("tool_choice":"required","parallel_tool_calls":false)"));
  BOOST_REQUIRE(req.tools.size() == 2u);
  BOOST_TEST(req.tools[0].name == "get_weather");
  BOOST_TEST(req.tools[0].description == "Weather now");
  BOOST_TEST(json::parse(req.tools[0].parameters) ==
             json::parse(R"({"type":"object","properties":{"city":{"type":"string"}},)"
                         R"("required":["city"]})"));
  BOOST_TEST(req.tools[0].strict.value());
  BOOST_TEST(req.tools[1].name == "now");
  BOOST_TEST(req.tools[1].parameters.empty());
  BOOST_TEST(!req.tools[1].strict);
  BOOST_TEST((req.choice.how == tool_choice::mode::required));
  BOOST_TEST((req.parallel_tool_calls == std::optional<bool>{false}));
  BOOST_REQUIRE(req.param(chat_param::tools));
  BOOST_TEST(json::parse(req.param(chat_param::tools)->json).as_array().size() == 2u);
  BOOST_TEST(req.param(chat_param::tool_choice)->json == R"("required")");
  BOOST_TEST(req.param(chat_param::parallel_tool_calls)->json == "false");
}

BOOST_AUTO_TEST_CASE(a_named_tool_choice_must_name_a_declared_tool) {
  auto tools = std::string{R"("tools":[)"} + std::string{weather_tool} + "]";
  auto req = parsed(
      with(tools + R"(,"tool_choice":{"type":"function","function":{"name":"get_weather"}})"));
  BOOST_TEST((req.choice.how == tool_choice::mode::function));
  BOOST_TEST(req.choice.function == "get_weather");
  auto e = error_of(with(tools + R"(,"tool_choice":{"type":"function","function":{"name":"x"}})"));
  BOOST_TEST(e.param == "tool_choice.function.name");
}

BOOST_AUTO_TEST_CASE(default_tool_settings_record_nothing) {
  auto tools = std::string{R"("tools":[)"} + std::string{weather_tool} + "]";
  auto req = parsed(with(tools + R"(,"tool_choice":"auto","parallel_tool_calls":true)"));
  BOOST_TEST((req.choice.how == tool_choice::mode::automatic));
  BOOST_TEST((req.parallel_tool_calls == std::optional<bool>{true}));
  BOOST_TEST(!req.param(chat_param::tool_choice));
  BOOST_TEST(!req.param(chat_param::parallel_tool_calls));
  // Without tools "auto" and "none" ask for nothing, and neither does an empty list.
  for (auto extra : {R"("tools":[],"tool_choice":"auto")", R"("tool_choice":"none")",
                     R"("parallel_tool_calls":false)"}) {
    auto plain = parsed(with(extra));
    BOOST_TEST(plain.provider_params.empty(), extra);
    BOOST_TEST(plain.tools.empty());
    BOOST_TEST((plain.choice.how == tool_choice::mode::unset));
  }
}

BOOST_AUTO_TEST_CASE(bad_tools_name_the_offending_field) {
  auto tool = [](std::string_view fn) {
    return std::string{R"("tools":[{"type":"function","function":)"} + std::string{fn} + "}]";
  };
  const std::pair<std::string, std::string_view> rows[] = {
      {with(R"("tools":{})"), "tools"},
      {with(R"("tools":[5])"), "tools[0]"},
      {with(R"("tools":[{"type":"custom","custom":{"name":"x"}}])"), "tools[0].type"},
      {with(R"("tools":[{"function":{"name":"x"}}])"), "tools[0].type"},
      {with(R"("tools":[{"type":"function"}])"), "tools[0].function"},
      {with(R"("tools":[{"type":"function","function":{"name":"x"},"cache_control":{}}])"),
       "tools[0].cache_control"},
      {with(tool(R"({"name":""})")), "tools[0].function.name"},
      {with(tool(R"({"name":"has space"})")), "tools[0].function.name"},
      {with(tool(R"({"name":")" + std::string(65, 'a') + R"("})")), "tools[0].function.name"},
      {with(tool(R"({"name":"x","parameters":"{}"})")), "tools[0].function.parameters"},
      {with(tool(R"({"name":"x","description":1})")), "tools[0].function.description"},
      {with(tool(R"({"name":"x","strict":"yes"})")), "tools[0].function.strict"},
      {with(tool(R"({"name":"x","examples":[]})")), "tools[0].function.examples"},
      {with(R"("tools":[{"type":"function","function":{"name":"a"}},)"
            R"({"type":"function","function":{"name":"a"}}])"),
       "tools[1].function.name"},
      {with(tool(R"({"name":"x"})") + R"(,"tool_choice":"sometimes")"), "tool_choice"},
      {with(tool(R"({"name":"x"})") + R"(,"tool_choice":{"type":"function"})"), "tool_choice"},
      {with(tool(R"({"name":"x"})") + R"(,"tool_choice":{"type":"function","function":{}})"),
       "tool_choice.function.name"},
      {with(tool(R"({"name":"x"})") + R"(,"tool_choice":{"type":"function","x":1})"),
       "tool_choice.x"},
      {with(R"("tool_choice":"required")"), "tool_choice"},
      {with(R"("tool_choice":{"type":"function","function":{"name":"x"}})"), "tool_choice"},
      {with(tool(R"({"name":"x"})") + R"(,"parallel_tool_calls":"no")"), "parallel_tool_calls"},
  };
  for (const auto& [body, param] : rows) {
    auto e = error_of(body);
    BOOST_TEST(e.param == param, body);
    BOOST_TEST(e.message.find(std::string{param}) != std::string::npos, e.message);
  }
  std::string many = R"("tools":[)";
  for (int i = 0; i < 129; ++i)
    many += (i ? "," : "") + std::string{R"({"type":"function","function":{"name":"f)"} +
            std::to_string(i) + R"("}})";
  BOOST_TEST(error_of(with(many + "]")).param == "tools");
}

BOOST_AUTO_TEST_CASE(tool_calls_and_tool_results_are_read_into_the_messages) {
  auto req = parsed(messages(a_call_and_its_result));
  BOOST_REQUIRE(req.messages.size() == 3u);
  const auto& call = req.messages[1];
  BOOST_TEST(call.role == "assistant");
  BOOST_TEST(call.content.empty());
  BOOST_REQUIRE(call.tool_calls.size() == 1u);
  BOOST_TEST(call.tool_calls[0].id == "call_1");
  BOOST_TEST(call.tool_calls[0].name == "get_weather");
  BOOST_TEST(call.tool_calls[0].arguments == R"({"city":"Paris"})");
  BOOST_TEST(req.messages[2].role == "tool");
  BOOST_TEST(req.messages[2].tool_call_id == "call_1");
  BOOST_TEST(req.messages[2].content == "sunny");
  const auto* p = req.param(chat_param::tool_message);
  BOOST_REQUIRE(p);
  BOOST_TEST(p->where == "messages[1].tool_calls");
  // A tool result in text parts, and an assistant message without content at all.
  auto parts = parsed(messages(
      R"({"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c","type":"function",)"
      R"("function":{"name":"f","arguments":""}}]},{"role":"tool","tool_call_id":"c",)"
      R"("content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]})"));
  BOOST_TEST(parts.messages[2].content == "a\nb");
}

BOOST_AUTO_TEST_CASE(bad_tool_messages_name_the_offending_field) {
  constexpr std::string_view user = R"({"role":"user","content":"x"},)";
  auto call = [](std::string_view c) {
    return std::string{R"({"role":"assistant","content":null,"tool_calls":[)"} + std::string{c} +
           "]}";
  };
  const std::pair<std::string, std::string_view> rows[] = {
      {messages(std::string{user} + R"({"role":"tool","content":"r"})"),
       "messages[1].tool_call_id"},
      {messages(std::string{user} + R"({"role":"tool","tool_call_id":"nope","content":"r"})"),
       "messages[1].tool_call_id"},
      {messages(std::string{user} + R"({"role":"tool","tool_call_id":"c"})"),
       "messages[1].content"},
      {messages(R"({"role":"user","content":"x","tool_call_id":"c"})"), "messages[0].tool_call_id"},
      {messages(std::string{user} +
                R"({"role":"user","content":"y","tool_calls":[{"id":"c","type":"function",)"
                R"("function":{"name":"f","arguments":"{}"}}]})"),
       "messages[1].tool_calls"},
      {messages(std::string{user} + R"({"role":"assistant","tool_calls":{}})"),
       "messages[1].tool_calls"},
      {messages(std::string{user} + call("7")), "messages[1].tool_calls[0]"},
      {messages(std::string{user} +
                call(R"({"type":"function","function":{"name":"f","arguments":"{}"}})")),
       "messages[1].tool_calls[0].id"},
      {messages(std::string{user} +
                call(R"({"id":"c","type":"custom","custom":{"name":"f","input":""}})")),
       "messages[1].tool_calls[0].type"},
      {messages(std::string{user} +
                call(R"({"id":"c","type":"other","function":{"name":"f","arguments":"{}"}})")),
       "messages[1].tool_calls[0].type"},
      {messages(std::string{user} + call(R"({"id":"c","type":"function"})")),
       "messages[1].tool_calls[0].function"},
      {messages(std::string{user} +
                call(R"({"id":"c","type":"function","function":{"arguments":"{}"}})")),
       "messages[1].tool_calls[0].function.name"},
      {messages(std::string{user} +
                call(R"({"id":"c","type":"function","function":{"name":"f","arguments":{}}})")),
       "messages[1].tool_calls[0].function.arguments"},
      {messages(std::string{user} + call(R"({"id":"c","type":"function","function":{"name":"f",)"
                                         R"("arguments":"{}","strict":true}})")),
       "messages[1].tool_calls[0].function.strict"},
  };
  for (const auto& [body, param] : rows) {
    auto e = error_of(body);
    BOOST_TEST(e.param == param, body);
    BOOST_TEST(e.message.find(std::string{param}) != std::string::npos, e.message);
  }
}

BOOST_AUTO_TEST_CASE(images_fill_the_parts_in_order) {
  auto req = parsed(messages(
      R"({"role":"user","content":[{"type":"text","text":"what is this?"},)"
      R"({"type":"image_url","image_url":{"url":"https://img.test/a/cat.PNG?size=2","detail":"low"}},)"
      R"({"type":"text","text":"and this?"},)"
      R"({"type":"image_url","image_url":{"url":"data:image/webp;base64,UklGRg=="}}]})"));
  const auto& m = req.messages[0];
  BOOST_TEST(m.content == "what is this?\nand this?");
  BOOST_REQUIRE(m.parts.size() == 4u);
  BOOST_TEST((m.parts[0].type == content_part::kind::text));
  BOOST_TEST(m.parts[0].text == "what is this?");
  BOOST_TEST((m.parts[1].type == content_part::kind::image));
  BOOST_TEST(m.parts[1].image.url == "https://img.test/a/cat.PNG?size=2");
  BOOST_TEST(m.parts[1].image.media_type == "image/png");
  BOOST_TEST(m.parts[1].image.detail == "low");
  BOOST_TEST(m.parts[1].image.data.empty());
  BOOST_TEST(m.parts[2].text == "and this?");
  BOOST_TEST(m.parts[3].image.url.empty());
  BOOST_TEST(m.parts[3].image.media_type == "image/webp");
  BOOST_TEST(m.parts[3].image.data == "UklGRg==");
  BOOST_TEST(m.parts[3].image.detail.empty());
  const auto* p = req.param(chat_param::image_part);
  BOOST_REQUIRE(p);
  BOOST_TEST(p->where == "messages[0].content[1]");
  // An extension that names no image type leaves the type to the provider's adapter.
  auto unknown = parsed(messages(
      R"({"role":"user","content":[{"type":"image_url","image_url":{"url":"https://img.test/x"}}]})"));
  BOOST_TEST(unknown.messages[0].parts[0].image.media_type.empty());
  // Text-only parts keep `parts` empty.
  BOOST_TEST(parsed(messages(R"({"role":"user","content":[{"type":"text","text":"a"}]})"))
                 .messages[0]
                 .parts.empty());
}

BOOST_AUTO_TEST_CASE(image_limits_name_the_offending_part) {
  auto image = [](std::string_view image_url) {
    return messages(R"({"role":"user","content":[{"type":"text","text":"x"},)"
                    R"({"type":"image_url","image_url":)" +
                    std::string{image_url} + "}]}");
  };
  auto url = [&](std::string_view u) {
    return image(std::string{R"({"url":")"} + std::string{u} + R"("})");
  };
  constexpr std::string_view at = "messages[0].content[1].image_url";
  const std::tuple<std::string, std::string, std::string_view> rows[] = {
      {url("http://img.test/a.png"), std::string{at} + ".url", "unsupported_parameter"},
      {url("file:///etc/passwd"), std::string{at} + ".url", "unsupported_parameter"},
      {url("https://"), std::string{at} + ".url", "unsupported_parameter"},
      {url("https://img.test/" + std::string(2040, 'a')), std::string{at} + ".url",
       "invalid_request"},
      {url("data:image/svg+xml;base64,PHN2Zz4="), std::string{at} + ".url",
       "unsupported_parameter"},
      {url("data:image/png,rawbytes"), std::string{at} + ".url", "invalid_request"},
      {url("data:image/png;base64"), std::string{at} + ".url", "invalid_request"},
      {url("data:image/png;base64,not*base64"), std::string{at} + ".url", "invalid_request"},
      {url("data:image/png;base64,"), std::string{at} + ".url", "invalid_request"},
      {url("data:image/png;base64," + base64_of(6'990'512)), std::string{at} + ".url",
       "invalid_request"},
      {image(R"({"url":5})"), std::string{at} + ".url", "invalid_request"},
      {image(R"({"url":"https://img.test/a.png","detail":"ultra"})"), std::string{at} + ".detail",
       "invalid_request"},
      {image(R"({"url":"https://img.test/a.png","size":1})"), std::string{at} + ".size",
       "unknown_parameter"},
      {image(R"("https://img.test/a.png")"), std::string{at}, "invalid_request"},
      {messages(R"({"role":"system","content":[{"type":"image_url","image_url":)"
                R"({"url":"https://img.test/a.png"}}]},{"role":"user","content":"x"})"),
       "messages[0].content[0]", "invalid_request"},
  };
  for (const auto& [body, param, code] : rows) {
    auto e = error_of(body);
    BOOST_TEST(e.param == param, body.substr(0, 200));
    BOOST_TEST(e.code == code, body.substr(0, 200));
    BOOST_TEST(e.message.find(param) != std::string::npos, e.message.substr(0, 200));
  }
  // 5 MiB decoded is the limit itself.
  auto largest = parsed(url("data:image/png;base64," + base64_of(6'990'508)));
  BOOST_TEST(largest.messages[0].parts[1].image.data.size() == 6'990'508u);
  // At most 20 images in a request, counted over all messages.
  std::string list;
  for (int i = 0; i < 21; ++i) {
    if (i) list += ',';
    list += R"({"role":"user","content":[{"type":"image_url","image_url":{"url":"https://i.test/)" +
            std::to_string(i) + R"(.jpg"}}]})";
  }
  BOOST_TEST(error_of(messages(list)).param == "messages[20].content[0]");
}

BOOST_AUTO_TEST_CASE(response_format_is_read_into_format_and_kept_verbatim) {
  auto req = parsed(with(
      R"("response_format":{"type":"json_schema","json_schema":{"name":"city-info",)"
      R"("description":"A city","schema":{"type":"object","properties":{"name":{"type":"string"}}},)"
      R"("strict":true}})"));
  BOOST_TEST((req.format.type == response_format::kind::json_schema));
  BOOST_TEST(req.format.name == "city-info");
  BOOST_TEST(req.format.description == "A city");
  BOOST_TEST(json::parse(req.format.schema) ==
             json::parse(R"({"type":"object","properties":{"name":{"type":"string"}}})"));
  BOOST_TEST(req.format.strict);
  BOOST_REQUIRE(req.param(chat_param::response_format));
  auto object = parsed(with(R"("response_format":{"type":"json_object"})"));
  BOOST_TEST((object.format.type == response_format::kind::json_object));
  BOOST_TEST(object.param(chat_param::response_format)->json == R"({"type":"json_object"})");
  auto text = parsed(with(R"("response_format":{"type":"text"})"));
  BOOST_TEST((text.format.type == response_format::kind::text));
  BOOST_TEST(text.provider_params.empty());
}

BOOST_AUTO_TEST_CASE(bad_response_formats_name_the_offending_field) {
  auto schema = [](std::string_view inside) {
    return with(R"("response_format":{"type":"json_schema","json_schema":)" + std::string{inside} +
                "}");
  };
  const std::pair<std::string, std::string_view> rows[] = {
      {with(R"("response_format":"json")"), "response_format"},
      {with(R"("response_format":{"type":"yaml"})"), "response_format.type"},
      {with(R"("response_format":{})"), "response_format.type"},
      {with(R"("response_format":{"type":"text","strict":true})"), "response_format.strict"},
      {with(R"("response_format":{"type":"json_object","json_schema":{}})"),
       "response_format.json_schema"},
      {with(R"("response_format":{"type":"json_schema"})"), "response_format.json_schema"},
      {schema(R"({"schema":{}})"), "response_format.json_schema.name"},
      {schema(R"({"name":"a b","schema":{}})"), "response_format.json_schema.name"},
      {schema(R"({"name":"a"})"), "response_format.json_schema.schema"},
      {schema(R"({"name":"a","schema":[]})"), "response_format.json_schema.schema"},
      {schema(R"({"name":"a","schema":{},"strict":1})"), "response_format.json_schema.strict"},
      {schema(R"({"name":"a","schema":{},"description":1})"),
       "response_format.json_schema.description"},
      {schema(R"({"name":"a","schema":{},"format":"x"})"), "response_format.json_schema.format"},
  };
  for (const auto& [body, param] : rows) {
    auto e = error_of(body);
    BOOST_TEST(e.param == param, body);
    BOOST_TEST(e.message.find(std::string{param}) != std::string::npos, e.message);
  }
}

BOOST_AUTO_TEST_CASE(unknown_top_level_fields_are_recorded_each_once) {
  auto req = parsed(with(R"("top_k":5,"extra_body":{"a":[1,"x"]},"top_k":6,"nothing":null)"));
  BOOST_REQUIRE(req.provider_params.size() == 2u);
  BOOST_TEST((req.provider_params[0].id == chat_param::other));
  BOOST_TEST(req.provider_params[0].where == "top_k");
  BOOST_TEST(req.provider_params[0].json == "5");
  BOOST_TEST(req.provider_params[1].where == "extra_body");
  BOOST_TEST(json::parse(req.provider_params[1].json) == json::parse(R"({"a":[1,"x"]})"));
  // A known field's error still wins over nothing: the body is checked as a whole.
  BOOST_TEST(error_of(with(R"("top_k":5,"temperature":9)")).param == "temperature");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(openai_tools_body_test)

BOOST_AUTO_TEST_CASE(tool_calls_and_tool_results_go_as_openai_messages) {
  auto req = parsed(messages(a_call_and_its_result,
                             std::string{R"("tools":[)"} + std::string{weather_tool} + "]"));
  for (auto provider : {"openai", "kimi"}) {
    BOOST_TEST_CONTEXT(provider) {
      auto body = openai_body(req, provider);
      auto expected = json::parse(std::string{"["} + std::string{a_call_and_its_result} + "]");
      BOOST_TEST(body.at("messages") == expected, json::serialize(body.at("messages")));
      BOOST_TEST(body.at("tools") ==
                 json::parse(std::string{"["} + std::string{weather_tool} + "]"));
    }
  }
  // Text next to the calls stays a string.
  auto with_text = parsed(messages(
      R"({"role":"user","content":"x"},{"role":"assistant","content":"Let me look.","tool_calls":[)"
      R"({"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]})"));
  BOOST_TEST(openai_body(with_text).at("messages").at(1).at("content") == "Let me look.");
}

BOOST_AUTO_TEST_CASE(image_messages_go_as_content_parts) {
  constexpr std::string_view list =
      R"({"role":"user","content":[{"type":"text","text":"what is this?"},)"
      R"({"type":"image_url","image_url":{"url":"https://img.test/cat.png","detail":"high"}},)"
      R"({"type":"image_url","image_url":{"url":"data:image/gif;base64,R0lGOD=="}}]})";
  auto body = openai_body(parsed(messages(list)));
  BOOST_TEST(body.at("messages") == json::parse(std::string{"["} + std::string{list} + "]"),
             json::serialize(body.at("messages")));
}

BOOST_AUTO_TEST_CASE(tool_settings_response_format_and_unknown_fields_go_verbatim) {
  constexpr std::string_view extra =
      R"("tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],)"
      R"("tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false,)"
      R"("response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object"},"strict":true}},)"
      R"("top_k":5,"extra\"key":{"deep":[1,2.5,"x"]})";
  auto asked = json::parse(with(extra)).as_object();
  auto req = parsed(with(extra));
  for (auto provider : {"openai", "kimi"}) {
    BOOST_TEST_CONTEXT(provider) {
      BOOST_TEST(!refused_parameter(provider, req));
      auto body = openai_body(req, provider).as_object();
      for (auto key : {"tools", "tool_choice", "parallel_tool_calls", "response_format", "top_k",
                       "extra\"key"}) {
        BOOST_REQUIRE_MESSAGE(body.contains(key), key);
        BOOST_TEST(body.at(key) == asked.at(key), key);
      }
    }
  }
  // Anthropic and Google take the rest in their own shape, but not a field they do not know
  // (nor, on Google, parallel_tool_calls: false).
  for (auto [provider, param] :
       {std::pair{"anthropic", "top_k"}, std::pair{"google", "parallel_tool_calls"}}) {
    auto refused = refused_parameter(provider, req);
    BOOST_REQUIRE(refused);
    BOOST_TEST(refused->param == param);
    BOOST_TEST(refused->message ==
               std::string{param} + " is not supported by provider " + provider);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(openai_tools_answer_test)

BOOST_AUTO_TEST_CASE(a_streamed_tool_call_arrives_in_pieces_over_several_chunks) {
  // As OpenAI streams two parallel calls: each call's first piece names it, then argument
  // fragments of a few bytes, then the finish reason and the usage chunk.
  const char* const chunks[] = {
      R"({"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]})",
      R"({"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]})",
      R"({"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]})",
      R"({"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"now","arguments":"{}"}}]},"finish_reason":null}]})",
      R"({"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
      R"({"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":40,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":32},"completion_tokens_details":{"reasoning_tokens":6}}})",
      "[DONE]",
  };
  for (auto provider : {"openai", "kimi"}) {
    BOOST_TEST_CONTEXT(provider) {
      stream_translator t(provider);
      std::vector<tool_call> calls;
      std::string finish;
      std::optional<token_usage> usage;
      bool done = false;
      for (const char* data : chunks) {
        auto step = t.on_event(sse_event{"", data, ""});
        BOOST_REQUIRE(!step.error);
        BOOST_TEST(step.content.empty());
        for (const auto& piece : step.tool_calls) {
          BOOST_TEST(step.has_content());
          if (piece.index == static_cast<int>(calls.size()))
            calls.push_back(tool_call{piece.id, piece.name, ""});
          BOOST_REQUIRE(piece.index < static_cast<int>(calls.size()));
          calls[static_cast<std::size_t>(piece.index)].arguments += piece.arguments;
        }
        if (!step.finish_reason.empty()) finish = step.finish_reason;
        if (step.usage) usage = step.usage;
        done = done || step.done;
      }
      BOOST_TEST(done);
      BOOST_TEST(finish == "tool_calls");
      BOOST_REQUIRE(calls.size() == 2u);
      BOOST_TEST((calls[0] == tool_call{"call_a", "get_weather", R"({"city":"Paris"})"}));
      BOOST_TEST((calls[1] == tool_call{"call_b", "now", "{}"}));
      BOOST_REQUIRE(usage);
      BOOST_TEST(usage->prompt_tokens == 40);
      BOOST_TEST(usage->cached_tokens == 32);
      BOOST_TEST(usage->completion_tokens == 20);
      BOOST_TEST(usage->reasoning_tokens == 6);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_completion_renders_its_tool_calls_and_usage_details) {
  chat_completion c;
  c.finish_reason = "tool_calls";
  c.tool_calls = {{"call_a", "get_weather", R"({"city":"Paris"})"}, {"call_b", "now", "{}"}};
  c.usage = token_usage{40, 20, 32, 6};
  auto v = json::parse(render_completion(c, "chatcmpl-1", "gpt-4o", 1700000000));
  const auto& message = v.at("choices").at(0).at("message");
  BOOST_TEST(message.at("content").is_null());
  BOOST_TEST(message.at("tool_calls") ==
             json::parse(R"([{"id":"call_a","type":"function","function":{"name":"get_weather",)"
                         R"("arguments":"{\"city\":\"Paris\"}"}},{"id":"call_b","type":"function",)"
                         R"("function":{"name":"now","arguments":"{}"}}])"));
  BOOST_TEST(v.at("choices").at(0).at("finish_reason") == "tool_calls");
  BOOST_TEST(v.at("usage") ==
             json::parse(R"({"prompt_tokens":40,"completion_tokens":20,"total_tokens":60,)"
                         R"("prompt_tokens_details":{"cached_tokens":32},)"
                         R"("completion_tokens_details":{"reasoning_tokens":6}})"));
  // Text with the calls keeps its text; an answer without calls has no tool_calls key, and
  // its usage details are there all the same.
  c.content = "Let me look.";
  auto with_text = json::parse(render_completion(c, "chatcmpl-1", "gpt-4o", 1));
  BOOST_TEST(with_text.at("choices").at(0).at("message").at("content") == "Let me look.");
  chat_completion plain;
  plain.content = "hi";
  plain.usage = token_usage{3, 1, 0, 0};
  auto p = json::parse(render_completion(plain, "chatcmpl-2", "m", 1));
  BOOST_TEST(!p.at("choices").at(0).at("message").as_object().contains("tool_calls"));
  BOOST_TEST(p.at("usage").at("prompt_tokens_details").at("cached_tokens") == 0);
  BOOST_TEST(p.at("usage").at("completion_tokens_details").at("reasoning_tokens") == 0);
}

BOOST_AUTO_TEST_CASE(chunks_carry_tool_call_pieces_as_openai_streams_them) {
  auto head = render_chunk_head("chatcmpl-1", "gpt-4o", 1700000000);
  const tool_call_delta first[] = {{0, "call_a", "get_weather", ""}};
  const tool_call_delta later[] = {{0, "", "", R"({"city":)"}, {1, "call_b", "now", "{}"}};
  std::string out;
  append_chunk_with_head(out, head, "", true, "", first);
  auto v = json::parse(out);
  BOOST_TEST(v.at("object") == "chat.completion.chunk");
  BOOST_TEST(v.at("choices").at(0).at("delta") ==
             json::parse(R"({"role":"assistant","content":"","tool_calls":[{"index":0,)"
                         R"("id":"call_a","type":"function","function":{"name":"get_weather",)"
                         R"("arguments":""}}]})"));
  out.clear();
  append_chunk_with_head(out, head, "", false, "", later);
  BOOST_TEST(json::parse(out).at("choices").at(0).at("delta") ==
             json::parse(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}},)"
                         R"({"index":1,"id":"call_b","type":"function","function":{"name":"now",)"
                         R"("arguments":"{}"}}]})"));
  // Text and a piece in one delta, and a plain chunk unchanged.
  out.clear();
  append_chunk_with_head(out, head, "ok", false, "", later);
  BOOST_TEST(json::parse(out).at("choices").at(0).at("delta").at("content") == "ok");
  out.clear();
  append_chunk_with_head(out, head, "ok", false, "stop");
  BOOST_TEST(out == render_chunk("chatcmpl-1", "gpt-4o", 1700000000, "ok", false, "stop"));
  BOOST_TEST(!json::parse(out).at("choices").at(0).at("delta").as_object().contains("tool_calls"));
}

BOOST_AUTO_TEST_CASE(the_usage_chunk_carries_the_details) {
  auto v = json::parse(render_usage_chunk("chatcmpl-1", "m", 1, token_usage{40, 20, 32, 6}));
  BOOST_TEST(v.at("choices").as_array().empty());
  BOOST_TEST(v.at("usage") ==
             json::parse(R"({"prompt_tokens":40,"completion_tokens":20,"total_tokens":60,)"
                         R"("prompt_tokens_details":{"cached_tokens":32},)"
                         R"("completion_tokens_details":{"reasoning_tokens":6}})"));
}

BOOST_AUTO_TEST_SUITE_END()
