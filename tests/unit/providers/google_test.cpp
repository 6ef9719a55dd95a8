// Google's Gemini translation of tools, images, structured output and reasoning: the request
// bodies, the JSON Schema subset, the refusals, and answers and streams written the way
// Gemini's API reference shows them.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "providers/adapter.hpp"
#include "providers/chat.hpp"
#include "providers/detail/gemini_schema.hpp"

using namespace nyxgate::providers;
namespace json = boost::json;

namespace {

chat_message message(std::string role, std::string text) {
  chat_message m;
  m.role = std::move(role);
  m.content = std::move(text);
  return m;
}

chat_message user(std::string text) {
  return message("user", std::move(text));
}

chat_message assistant(std::string text, std::vector<tool_call> calls = {}) {
  auto m = message("assistant", std::move(text));
  m.tool_calls = std::move(calls);
  return m;
}

chat_message tool(std::string call_id, std::string content) {
  auto m = message("tool", std::move(content));
  m.tool_call_id = std::move(call_id);
  return m;
}

content_part text_part(std::string text) {
  content_part p;
  p.text = std::move(text);
  return p;
}

/// An image part: a data: URL's payload when `url` is "", else an https URL.
content_part image(std::string url, std::string media_type, std::string data = {}) {
  content_part p;
  p.type = content_part::kind::image;
  p.image.url = std::move(url);
  p.image.media_type = std::move(media_type);
  p.image.data = std::move(data);
  return p;
}

const char* const weather_schema = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "city": {"type": "string", "description": "The city"},
    "unit": {"type": ["string", "null"], "enum": ["c", "f"]}
  },
  "required": ["city"],
  "additionalProperties": false
})";

chat_request with_tools() {
  chat_request req;
  req.messages = {user("weather in Paris?")};
  req.tools = {{"get_weather", "Current weather", weather_schema, true},
               {"get_time", "", R"({"type":"object","properties":{}})", std::nullopt}};
  return req;
}

json::value google_body(const chat_request& req) {
  return json::parse(
      build_upstream_request("google", "https://g", "k", req, "gemini-2.5-flash", 64).body);
}

std::optional<request_error> refusal(const chat_request& req) {
  return google_adapter().refuse(req);
}

/// The converted schema, or fails naming the refusal.
json::value converted(std::string_view schema) {
  auto out = detail::gemini_schema(schema, "s");
  if (auto* e = std::get_if<request_error>(&out)) BOOST_FAIL("refused: " << e->message);
  return std::get<json::value>(out);
}

/// The path a refused schema is named by, "" when it was converted.
std::string refused_path(std::string_view schema) {
  auto out = detail::gemini_schema(schema, "s");
  auto* e = std::get_if<request_error>(&out);
  if (!e) return {};
  BOOST_TEST(e->code == "unsupported_parameter");
  BOOST_TEST(e->message.find("provider google") != std::string::npos, e->message);
  return e->param;
}

chat_completion completion(const std::string& body) {
  auto out = parse_completion("google", body);
  if (auto* e = std::get_if<std::string>(&out)) BOOST_FAIL("unreadable: " << *e);
  return std::get<chat_completion>(std::move(out));
}

/// Gemini 2.5's answer calling two functions at once, with thinking and a cached prompt.
std::string two_calls(std::string_view response_id) {
  return R"({
  "candidates": [{
    "content": {
      "parts": [
        {"text": "Let me look."},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris", "unit": "c"}},
         "thoughtSignature": "CiQBVKhc7vB0x6F2"},
        {"functionCall": {"name": "get_time", "args": {}}}
      ],
      "role": "model"
    },
    "finishReason": "STOP",
    "index": 0
  }],
  "usageMetadata": {
    "promptTokenCount": 120,
    "candidatesTokenCount": 30,
    "totalTokenCount": 210,
    "cachedContentTokenCount": 64,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 120}],
    "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 64}],
    "thoughtsTokenCount": 60
  },
  "modelVersion": "gemini-2.5-flash",
  "responseId": ")" +
         std::string{response_id} + R"("
})";
}

struct streamed {
  std::string content;
  std::vector<tool_call_delta> calls;
  std::string finish_reason;
  token_usage usage;
};

streamed stream(std::string_view body) {
  sse_parser p;
  std::vector<sse_event> events;
  BOOST_REQUIRE(p.feed(body, events));
  stream_translator t("google");
  streamed out;
  for (const auto& e : events) {
    auto step = t.on_event(e);
    BOOST_REQUIRE(!step.error);
    out.content += step.content;
    out.calls.insert(out.calls.end(), step.tool_calls.begin(), step.tool_calls.end());
    if (!step.finish_reason.empty()) out.finish_reason = step.finish_reason;
    if (step.usage) out.usage = *step.usage;
  }
  return out;
}

/// streamGenerateContent?alt=sse with two calls in one event, as Gemini 2.5 sends them.
const char* const tool_stream =
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Let me look.\"}],"
    "\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 120,"
    "\"totalTokenCount\": 120},\"modelVersion\": \"gemini-2.5-flash\","
    "\"responseId\": \"r-1\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": "
    "\"get_weather\",\"args\": {\"city\": \"Paris\",\"unit\": \"c\"}},\"thoughtSignature\": "
    "\"CiQBVKhc\"},{\"functionCall\": {\"name\": \"get_time\",\"args\": {}}}],\"role\": "
    "\"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": "
    "{\"promptTokenCount\": 120,\"candidatesTokenCount\": 30,\"totalTokenCount\": 210,"
    "\"cachedContentTokenCount\": 64,\"thoughtsTokenCount\": 60},\"modelVersion\": "
    "\"gemini-2.5-flash\",\"responseId\": \"r-1\"}\r\n\r\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(gemini_schema_test)

BOOST_AUTO_TEST_CASE(the_subset_is_kept_and_annotations_are_dropped) {
  auto out = converted(R"({
    "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "x", "$comment": "c",
    "title": "Order", "description": "An order", "type": "object", "strict": true,
    "examples": [{}], "additionalProperties": false, "$defs": {}, "definitions": {}, "minProperties": 1, "maxProperties": 9,
    "propertyOrdering": ["id", "tags", "price"], "example": {"id": "a"},
    "properties": {
      "id": {"type": "string", "format": "date-time", "pattern": "^a", "minLength": 1,
             "maxLength": 9, "default": "a"},
      "tags": {"type": "array", "items": {"type": "string"}, "minItems": 0, "maxItems": 3},
      "price": {"type": "number", "minimum": 0, "maximum": 10, "nullable": true}
    },
    "required": ["id"]})");
  BOOST_TEST(out == json::parse(R"({
    "title": "Order", "description": "An order", "type": "object", "minProperties": 1,
    "maxProperties": 9, "propertyOrdering": ["id", "tags", "price"], "example": {"id": "a"},
    "properties": {
      "id": {"type": "string", "format": "date-time", "pattern": "^a", "minLength": 1,
             "maxLength": 9, "default": "a"},
      "tags": {"type": "array", "items": {"type": "string"}, "minItems": 0, "maxItems": 3},
      "price": {"type": "number", "minimum": 0, "maximum": 10, "nullable": true}
    },
    "required": ["id"]})"),
             json::serialize(out));
}

BOOST_AUTO_TEST_CASE(a_type_with_null_becomes_nullable) {
  BOOST_TEST(converted(R"({"type":["string","null"]})") ==
             json::parse(R"({"type":"string","nullable":true})"));
  BOOST_TEST(converted(R"({"type":["null","integer"]})") ==
             json::parse(R"({"type":"integer","nullable":true})"));
  BOOST_TEST(converted(R"({"type":["boolean"]})") == json::parse(R"({"type":"boolean"})"));
}

BOOST_AUTO_TEST_CASE(properties_or_items_imply_the_type_gemini_wants_said) {
  BOOST_TEST(converted(R"({"properties":{"a":{"items":{"type":"string"}}}})") ==
             json::parse(R"({"properties":{"a":{"items":{"type":"string"},"type":"array"}},
                             "type":"object"})"));
}

BOOST_AUTO_TEST_CASE(a_string_const_becomes_a_one_value_enum) {
  BOOST_TEST(converted(R"({"type":"string","const":"fixed"})") ==
             json::parse(R"({"type":"string","enum":["fixed"]})"));
}

BOOST_AUTO_TEST_CASE(nested_items_and_any_of_are_converted) {
  auto out = converted(R"({"type":"array","items":{"anyOf":[
      {"type":"object","properties":{"n":{"type":["integer","null"]}},"additionalProperties":false},
      {"type":"string","const":"none"}]}})");
  BOOST_TEST(out == json::parse(R"({"type":"array","items":{"anyOf":[
      {"type":"object","properties":{"n":{"type":"integer","nullable":true}}},
      {"type":"string","enum":["none"]}]}})"),
             json::serialize(out));
}

BOOST_AUTO_TEST_CASE(an_optional_written_as_any_of_with_null_becomes_nullable) {
  // How Pydantic writes `Optional[str]`.
  BOOST_TEST(converted(R"({"anyOf":[{"type":"string"},{"type":"null"}],"description":"d"})") ==
             json::parse(R"({"type":"string","nullable":true,"description":"d"})"));
  BOOST_TEST(converted(R"({"anyOf":[{"type":"string"},{"type":"integer"},{"type":"null"}]})") ==
             json::parse(R"({"anyOf":[{"type":"string"},{"type":"integer"}],"nullable":true})"));
}

BOOST_AUTO_TEST_CASE(a_keyword_gemini_cannot_take_is_refused_by_its_full_path) {
  struct row {
    const char* schema;
    const char* path;
  };
  const row rows[] = {
      {R"({"$ref":"#/$defs/a"})", "s.$ref"},
      {R"({"type":"object","$defs":{"a":{}}})", "s.$defs"},
      {R"({"definitions":{"a":{}}})", "s.definitions"},
      {R"({"allOf":[{"type":"string"}]})", "s.allOf"},
      {R"({"oneOf":[{"type":"string"}]})", "s.oneOf"},
      {R"({"not":{"type":"string"}})", "s.not"},
      {R"({"if":{},"then":{},"else":{}})", "s.if"},
      {R"({"type":"object","additionalProperties":true})", "s.additionalProperties"},
      {R"({"type":"object","additionalProperties":{"type":"string"}})", "s.additionalProperties"},
      {R"({"patternProperties":{"^a":{}}})", "s.patternProperties"},
      {R"({"type":"array","prefixItems":[{}]})", "s.prefixItems"},
      {R"({"type":"array","items":[{"type":"string"}]})", "s.items"},
      {R"({"type":"number","multipleOf":2})", "s.multipleOf"},
      {R"({"type":"number","exclusiveMinimum":0})", "s.exclusiveMinimum"},
      {R"({"type":"number","exclusiveMaximum":9})", "s.exclusiveMaximum"},
      {R"({"type":"array","contains":{}})", "s.contains"},
      {R"({"type":"integer","const":3})", "s.const"},
      {R"({"type":"integer","enum":[1,2]})", "s.enum"},
      {R"({"type":["string","integer"]})", "s.type"},
      {R"({"type":"null"})", "s.type"},
      {R"({"type":"date"})", "s.type"},
      {R"({"anyOf":[{"type":"null"}]})", "s.anyOf"},
      {R"({"type":"object","properties":{"tags":{"type":"array","uniqueItems":true}}})",
       "s.properties.tags.uniqueItems"},
      {R"({"type":"array","items":{"type":"object","properties":{"x":{"$ref":"#"}}}})",
       "s.items.properties.x.$ref"},
      {R"({"anyOf":[{"type":"string"},{"type":"array","items":{"not":{}}}]})",
       "s.anyOf[1].items.not"},
      {R"({"type":"object","properties":{"x":true}})", "s.properties.x"},
      {R"({"type":)", "s"},
  };
  for (const auto& r : rows) BOOST_TEST_CONTEXT(r.schema) {
      BOOST_TEST(refused_path(r.schema) == r.path);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(google_request_test)

BOOST_AUTO_TEST_CASE(tools_become_function_declarations_with_converted_schemas) {
  auto b = google_body(with_tools());
  BOOST_TEST(b.at("tools") == json::parse(R"([{"functionDeclarations":[
      {"name":"get_weather","description":"Current weather","parameters":{
        "type":"object",
        "properties":{"city":{"type":"string","description":"The city"},
                      "unit":{"type":"string","nullable":true,"enum":["c","f"]}},
        "required":["city"]}},
      {"name":"get_time"}]}])"),
             json::serialize(b.at("tools")));
  // No tool_choice: Gemini's default (AUTO), no toolConfig.
  BOOST_TEST(!b.as_object().contains("toolConfig"));
}

BOOST_AUTO_TEST_CASE(tool_choice_becomes_the_function_calling_mode) {
  struct row {
    tool_choice choice;
    const char* config;
  };
  const row rows[] = {
      {{tool_choice::mode::automatic, ""}, R"({"mode":"AUTO"})"},
      {{tool_choice::mode::none, ""}, R"({"mode":"NONE"})"},
      {{tool_choice::mode::required, ""}, R"({"mode":"ANY"})"},
      {{tool_choice::mode::function, "get_time"},
       R"({"mode":"ANY","allowedFunctionNames":["get_time"]})"},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.config) {
      auto req = with_tools();
      req.choice = r.choice;
      BOOST_TEST(!refusal(req));
      BOOST_TEST(google_body(req).at("toolConfig").at("functionCallingConfig") ==
                 json::parse(r.config));
    }
  }
}

BOOST_AUTO_TEST_CASE(tool_calls_and_results_become_function_parts_in_alternating_turns) {
  auto req = with_tools();
  req.messages = {
      message("system", "Be brief."),
      user("weather and time in Paris?"),
      assistant("Let me look.",
                {{"call_a", "get_weather", R"({"city":"Paris"})"}, {"call_b", "get_time", ""}}),
      tool("call_a", R"({"temp":21})"),
      tool("call_b", "10:00"),
      user("and tomorrow?"),
      assistant("", {{"call_c", "get_weather", R"({"city":"Paris","day":"tomorrow"})"}}),
      tool("call_c", "[1,2]"),
  };
  BOOST_TEST(!refusal(req));
  auto b = google_body(req);
  BOOST_TEST(b.at("systemInstruction") == json::parse(R"({"parts":[{"text":"Be brief."}]})"));
  BOOST_TEST(b.at("contents") == json::parse(R"([
      {"role":"user","parts":[{"text":"weather and time in Paris?"}]},
      {"role":"model","parts":[
        {"text":"Let me look."},
        {"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},
        {"functionCall":{"name":"get_time","args":{}}}]},
      {"role":"user","parts":[
        {"functionResponse":{"name":"get_weather","response":{"temp":21}}},
        {"functionResponse":{"name":"get_time","response":{"content":"10:00"}}},
        {"text":"and tomorrow?"}]},
      {"role":"model","parts":[
        {"functionCall":{"name":"get_weather","args":{"city":"Paris","day":"tomorrow"}}}]},
      {"role":"user","parts":[
        {"functionResponse":{"name":"get_weather","response":{"content":"[1,2]"}}}]}])"),
             json::serialize(b.at("contents")));
}

BOOST_AUTO_TEST_CASE(replayed_calls_to_gemini_3_carry_the_lost_signature_value) {
  auto req = with_tools();
  req.messages.push_back(assistant("", {{"c1", "get_time", "{}"}}));
  req.messages.push_back(tool("c1", "10:00"));
  auto call_part = [&](std::string_view model) {
    auto r = build_upstream_request("google", "https://g", "k", req, model, 64);
    return json::parse(r.body).at("contents").at(1).at("parts").at(0);
  };
  BOOST_TEST(call_part("gemini-3-pro-preview") ==
             json::parse(R"({"functionCall":{"name":"get_time","args":{}},
                             "thoughtSignature":"skip_thought_signature_validator"})"));
  BOOST_TEST(call_part("gemini-3.1-flash").as_object().contains("thoughtSignature"));
  BOOST_TEST(call_part("gemini-2.5-flash") ==
             json::parse(R"({"functionCall":{"name":"get_time","args":{}}})"));
}

BOOST_AUTO_TEST_CASE(consecutive_text_messages_of_one_side_join_in_one_part) {
  chat_request req;
  req.messages = {user("a"), user("b"), assistant("c"), assistant("d"), user("e")};
  BOOST_TEST(google_body(req).at("contents") == json::parse(R"([
      {"role":"user","parts":[{"text":"a\n\nb"}]},
      {"role":"model","parts":[{"text":"c\n\nd"}]},
      {"role":"user","parts":[{"text":"e"}]}])"));
}

BOOST_AUTO_TEST_CASE(images_become_inline_data_and_file_data) {
  chat_request req;
  auto m = user("What is in these?");
  m.parts = {text_part("What is in these?"), image("", "image/png", "iVBORw0KGgo="),
             image("https://example.com/cat.jpg", "image/jpeg")};
  req.messages = {m};
  BOOST_TEST(!refusal(req));
  BOOST_TEST(google_body(req).at("contents") == json::parse(R"([{"role":"user","parts":[
      {"text":"What is in these?"},
      {"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}},
      {"fileData":{"mimeType":"image/jpeg","fileUri":"https://example.com/cat.jpg"}}]}])"));
}

BOOST_AUTO_TEST_CASE(response_format_becomes_the_response_mime_type_and_schema) {
  chat_request req;
  req.messages = {user("x")};
  req.format.type = response_format::kind::json_object;
  auto config = google_body(req).at("generationConfig");
  BOOST_TEST(config.at("responseMimeType") == "application/json");
  BOOST_TEST(!config.as_object().contains("responseSchema"));

  req.format = {response_format::kind::json_schema, "answer", "",
                R"({"type":"object","properties":{"a":{"type":["integer","null"]}},
                    "required":["a"],"additionalProperties":false})",
                true};
  BOOST_TEST(!refusal(req));
  config = google_body(req).at("generationConfig");
  BOOST_TEST(config.at("responseMimeType") == "application/json");
  BOOST_TEST(config.at("responseSchema") ==
             json::parse(R"({"type":"object","properties":{"a":{"type":"integer",
                             "nullable":true}},"required":["a"]})"));
}

BOOST_AUTO_TEST_CASE(reasoning_effort_becomes_a_thinking_budget) {
  for (auto [effort, budget] : {std::pair{"minimal", 512}, std::pair{"low", 1024},
                                std::pair{"medium", 8192}, std::pair{"high", 24576}}) {
    BOOST_TEST_CONTEXT(effort) {
      chat_request req;
      req.messages = {user("x")};
      req.provider_params = {
          {chat_param::reasoning_effort, "reasoning_effort", std::string{"\""} + effort + "\""}};
      BOOST_TEST(!refusal(req));
      BOOST_TEST(
          google_body(req).at("generationConfig").at("thinkingConfig").at("thinkingBudget") ==
          budget);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_new_fields_are_translated_and_parallel_false_is_refused) {
  for (auto p :
       {chat_param::tools, chat_param::tool_choice, chat_param::image_part,
        chat_param::tool_message, chat_param::response_format, chat_param::reasoning_effort})
    BOOST_TEST((handling(p, "google") == param_handling::translated));
  for (auto p : {chat_param::parallel_tool_calls, chat_param::other, chat_param::user})
    BOOST_TEST((handling(p, "google") == param_handling::refused));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(google_refusal_test)

BOOST_AUTO_TEST_CASE(what_gemini_cannot_take_is_refused_naming_its_path) {
  struct row {
    const char* name;
    std::function<void(chat_request&)> change;
    const char* param;
  };
  const row rows[] = {
      {"a schema keyword in a tool",
       [](chat_request& r) {
         r.tools[0].parameters = R"({"type":"object","properties":{"x":{"$ref":"#/a"}}})";
       },
       "tools[0].function.parameters.properties.x.$ref"},
      {"a schema keyword in the response format",
       [](chat_request& r) {
         r.format = {response_format::kind::json_schema, "a", "",
                     R"({"type":"object","properties":{"tags":{"type":"array",
                         "uniqueItems":true}}})",
                     false};
       },
       "response_format.json_schema.schema.properties.tags.uniqueItems"},
      {"a function name Gemini cannot take", [](chat_request& r) { r.tools[1].name = "2fast"; },
       "tools[1].function.name"},
      {"arguments that are no object",
       [](chat_request& r) {
         r.messages.push_back(assistant("", {{"c1", "get_time", "[1]"}}));
         r.messages.push_back(tool("c1", "x"));
       },
       "messages[1].tool_calls[0].function.arguments"},
      {"a tool message answering no call",
       [](chat_request& r) {
         r.messages.push_back(assistant("", {{"c1", "get_time", "{}"}}));
         r.messages.push_back(tool("c2", "x"));
       },
       "messages[2].tool_call_id"},
      {"a tool message before its call",
       [](chat_request& r) {
         r.messages.push_back(tool("c1", "x"));
         r.messages.push_back(assistant("", {{"c1", "get_time", "{}"}}));
       },
       "messages[1].tool_call_id"},
      {"a GIF",
       [](chat_request& r) {
         r.messages[0].parts = {text_part("x"), image("", "image/gif", "R0lGOD==")};
       },
       "messages[0].content[1].image_url.url"},
      {"an image of an unknown type",
       [](chat_request& r) { r.messages[0].parts = {image("https://example.com/cat", "")}; },
       "messages[0].content[0].image_url.url"},
      {"a reasoning effort without a budget",
       [](chat_request& r) {
         r.provider_params = {{chat_param::reasoning_effort, "reasoning_effort", "\"extreme\""}};
       },
       "reasoning_effort"},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      auto req = with_tools();
      BOOST_REQUIRE(!refusal(req));
      r.change(req);
      auto e = refusal(req);
      BOOST_REQUIRE(e);
      BOOST_TEST(e->param == r.param);
      BOOST_TEST(e->code == "unsupported_parameter");
      BOOST_TEST(
          e->message.find(std::string{r.param} + " is not supported by provider google") == 0u,
          e->message);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(google_answer_test)

BOOST_AUTO_TEST_CASE(function_calls_become_tool_calls) {
  auto c = completion(two_calls("r-1"));
  BOOST_TEST(c.content == "Let me look.");
  BOOST_TEST(c.finish_reason == "tool_calls");
  BOOST_REQUIRE(c.tool_calls.size() == 2u);
  BOOST_TEST(c.tool_calls[0].name == "get_weather");
  BOOST_TEST(json::parse(c.tool_calls[0].arguments) ==
             json::parse(R"({"city":"Paris","unit":"c"})"));
  BOOST_TEST(c.tool_calls[1].name == "get_time");
  BOOST_TEST(c.tool_calls[1].arguments == "{}");
  for (const auto& call : c.tool_calls) {
    BOOST_TEST(call.id.size() == 29u, call.id);
    BOOST_TEST(call.id.rfind("call_", 0) == 0u, call.id);
    BOOST_TEST(call.id.find_first_not_of("0123456789abcdef", 5) == std::string::npos, call.id);
  }
  BOOST_TEST(c.tool_calls[0].id != c.tool_calls[1].id);
}

BOOST_AUTO_TEST_CASE(generated_ids_are_stable_for_an_answer_and_differ_across_answers) {
  auto once = completion(two_calls("r-1"));
  auto again = completion(two_calls("r-1"));
  auto other = completion(two_calls("r-2"));
  for (std::size_t i = 0; i < 2; ++i) {
    BOOST_TEST(once.tool_calls[i].id == again.tool_calls[i].id);
    BOOST_TEST(once.tool_calls[i].id != other.tool_calls[i].id);
  }
}

BOOST_AUTO_TEST_CASE(gemini_call_ids_are_kept) {
  auto c = completion(R"({"candidates":[{"content":{"parts":[
      {"functionCall":{"id":"gc-7","name":"get_time","args":{"tz":"UTC"}}}],"role":"model"},
      "finishReason":"STOP","index":0}],"responseId":"r"})");
  BOOST_REQUIRE(c.tool_calls.size() == 1u);
  BOOST_TEST(c.tool_calls[0].id == "gc-7");
  BOOST_TEST(c.finish_reason == "tool_calls");
}

BOOST_AUTO_TEST_CASE(cached_and_thought_tokens_are_counted_as_openai_does) {
  auto c = completion(two_calls("r-1"));
  BOOST_TEST(c.usage.prompt_tokens == 120);
  BOOST_TEST(c.usage.cached_tokens == 64);
  BOOST_TEST(c.usage.reasoning_tokens == 60);
  BOOST_TEST(c.usage.completion_tokens == 90);
}

BOOST_AUTO_TEST_CASE(thought_summaries_are_not_the_answer) {
  auto c = completion(R"({"candidates":[{"content":{"parts":[
      {"text":"**Weighing it**","thought":true},{"text":"Blue."}],"role":"model"},
      "finishReason":"STOP","index":0}],"responseId":"r"})");
  BOOST_TEST(c.content == "Blue.");
  BOOST_TEST(c.finish_reason == "stop");
}

BOOST_AUTO_TEST_CASE(streamed_calls_come_whole_with_consecutive_indexes) {
  auto s = stream(tool_stream);
  BOOST_TEST(s.content == "Let me look.");
  BOOST_TEST(s.finish_reason == "tool_calls");
  BOOST_REQUIRE(s.calls.size() == 4u);
  auto answer = completion(two_calls("r-1"));
  for (int i = 0; i < 2; ++i) {
    const auto& head = s.calls[2 * i];
    const auto& args = s.calls[2 * i + 1];
    BOOST_TEST(head.index == i);
    BOOST_TEST(args.index == i);
    // The same answer streamed or not gets the same ids.
    BOOST_TEST(head.id == answer.tool_calls[i].id);
    BOOST_TEST(head.name == answer.tool_calls[i].name);
    BOOST_TEST(head.arguments == "");
    BOOST_TEST(args.id == "");
    BOOST_TEST(args.name == "");
    BOOST_TEST(json::parse(args.arguments) == json::parse(answer.tool_calls[i].arguments));
  }
  BOOST_TEST(s.usage.cached_tokens == 64);
  BOOST_TEST(s.usage.reasoning_tokens == 60);
  BOOST_TEST(s.usage.completion_tokens == 90);
}

BOOST_AUTO_TEST_CASE(calls_in_separate_events_keep_counting) {
  auto s = stream(
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"a\","
      "\"args\":{}}}],\"role\":\"model\"},\"index\":0}],\"responseId\":\"r-9\"}\n\n"
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"b\","
      "\"args\":{\"x\":1}}}],\"role\":\"model\"},\"index\":0}],\"responseId\":\"r-9\"}\n\n"
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}],\"role\":\"model\"},"
      "\"finishReason\":\"STOP\",\"index\":0}],\"responseId\":\"r-9\"}\n\n");
  BOOST_REQUIRE(s.calls.size() == 4u);
  BOOST_TEST(s.calls[0].index == 0);
  BOOST_TEST(s.calls[2].index == 1);
  BOOST_TEST(s.calls[2].name == "b");
  BOOST_TEST(s.calls[0].id != s.calls[2].id);
  BOOST_TEST(s.finish_reason == "tool_calls");
}

BOOST_AUTO_TEST_SUITE_END()
