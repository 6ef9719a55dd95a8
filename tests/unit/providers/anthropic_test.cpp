// Anthropic's Messages API for tools, images, structured output and thinking: the request
// bodies nyxgate builds (blocks, turn alternation, ids), the refusals, and answers and streams
// written the way Anthropic's API reference shows them.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "parsed_request.hpp"
#include "providers/adapter.hpp"
#include "providers/chat.hpp"

using namespace nyxgate::providers;
namespace json = boost::json;

namespace {

const chat_adapter& anthropic() {
  return anthropic_adapter();
}

chat_message text(std::string role, std::string content) {
  chat_message m;
  m.role = std::move(role);
  m.content = std::move(content);
  return m;
}

chat_message calls(std::string content, std::vector<tool_call> tool_calls) {
  auto m = text("assistant", std::move(content));
  m.tool_calls = std::move(tool_calls);
  return m;
}

chat_message result(std::string id, std::string content) {
  auto m = text("tool", std::move(content));
  m.tool_call_id = std::move(id);
  return m;
}

tool_definition weather_tool() {
  return {"get_weather", "The weather in a city",
          R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})", true};
}

/// A conversation with one round of two parallel tool calls, answered, then a user question.
chat_request tool_conversation() {
  chat_request req;
  req.messages = {text("system", "Be brief."),
                  text("user", "Weather in Paris and Oslo?"),
                  calls("Checking.", {{"call_A1", "get_weather", R"({"city":"Paris"})"},
                                      {"call_B2", "get_weather", R"({"city":"Oslo"})"}}),
                  result("call_A1", "22C"),
                  result("call_B2", "3C"),
                  text("user", "Which is warmer?")};
  req.tools = {weather_tool()};
  return req;
}

json::object body_of(const chat_request& req, std::int64_t max_tokens = 1000) {
  auto r =
      anthropic().build_request("https://api.anthropic.com", "sk-ant", req, "claude", max_tokens);
  return json::parse(r.body).as_object();
}

std::string refused_param(const chat_request& req) {
  auto e = anthropic().refuse(req);
  BOOST_REQUIRE_MESSAGE(e, "not refused");
  BOOST_TEST(e->code == "unsupported_parameter");
  BOOST_TEST(e->message.find("anthropic") != std::string::npos);
  return e->param;
}

chat_request with_effort(std::string effort_json) {
  chat_request req;
  req.messages = {text("user", "Think.")};
  req.provider_params.push_back({chat_param::reasoning_effort, "reasoning_effort", effort_json});
  return req;
}

chat_completion answer(const std::string& body) {
  auto r = anthropic().parse_completion(body);
  if (auto* e = std::get_if<std::string>(&r)) BOOST_FAIL("unreadable answer: " << *e);
  return std::get<chat_completion>(std::move(r));
}

/// A stream's steps, folded: text, every tool call assembled from its pieces.
struct folded {
  std::string content;
  std::vector<tool_call> calls;
  std::vector<int> indexes;  ///< of the pieces that start a call
  std::string finish_reason;
  token_usage usage;
  bool done = false;
};

folded fold(std::string_view stream) {
  sse_parser parser;
  std::vector<sse_event> events;
  BOOST_REQUIRE(parser.feed(stream, events));
  stream_state state;
  folded out;
  for (const auto& e : events) {
    auto step = anthropic().on_event(state, e);
    BOOST_REQUIRE(!step.error);
    out.content += step.content;
    for (const auto& d : step.tool_calls) {
      if (!d.id.empty()) {
        BOOST_TEST(d.arguments.empty());
        BOOST_REQUIRE(d.index == static_cast<int>(out.calls.size()));
        out.indexes.push_back(d.index);
        out.calls.push_back({d.id, d.name, ""});
      } else {
        BOOST_REQUIRE(d.index >= 0 && d.index < static_cast<int>(out.calls.size()));
        out.calls[static_cast<std::size_t>(d.index)].arguments += d.arguments;
      }
    }
    if (!step.finish_reason.empty()) out.finish_reason = step.finish_reason;
    if (step.usage) out.usage = *step.usage;
    out.done = out.done || step.done;
  }
  return out;
}

std::string event(std::string_view type, std::string_view data) {
  return "event: " + std::string{type} + "\ndata: " + std::string{data} + "\n\n";
}

// Anthropic's stream events, as its reference shows them.

std::string message_start(std::string_view usage) {
  return event("message_start",
               R"({"type":"message_start","message":{"id":"msg_01","type":"message",)"
               R"("role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,)"
               R"("stop_sequence":null,"usage":)" +
                   std::string{usage} + "}}");
}

std::string block_start(int index, std::string_view block) {
  return event("content_block_start", R"({"type":"content_block_start","index":)" +
                                          std::to_string(index) + R"(,"content_block":)" +
                                          std::string{block} + "}");
}

std::string tool_use_start(int index, std::string_view id, std::string_view name) {
  return block_start(index, R"({"type":"tool_use","id":")" + std::string{id} + R"(","name":")" +
                                std::string{name} + R"(","input":{}})");
}

std::string block_delta(int index, std::string_view delta) {
  return event("content_block_delta", R"({"type":"content_block_delta","index":)" +
                                          std::to_string(index) + R"(,"delta":)" +
                                          std::string{delta} + "}");
}

std::string json_fragment(int index, std::string_view partial) {
  return block_delta(index, R"({"type":"input_json_delta","partial_json":)" +
                                json::serialize(json::string{partial}) + "}");
}

std::string block_stop(int index) {
  return event("content_block_stop",
               R"({"type":"content_block_stop","index":)" + std::to_string(index) + "}");
}

std::string message_end(std::string_view stop_reason, int output_tokens) {
  return event("message_delta", R"({"type":"message_delta","delta":{"stop_reason":")" +
                                    std::string{stop_reason} +
                                    R"(","stop_sequence":null},"usage":{"output_tokens":)" +
                                    std::to_string(output_tokens) + "}}") +
         event("message_stop", R"({"type":"message_stop"})");
}

/// Text, then two tool calls whose input arrives in fragments, as Anthropic streams them.
std::string two_call_stream() {
  return message_start(
             R"({"input_tokens":12,"cache_creation_input_tokens":5,"cache_read_input_tokens":40,"output_tokens":1})") +
         block_start(0, R"({"type":"text","text":""})") + event("ping", R"({"type": "ping"})") +
         block_delta(0, R"({"type":"text_delta","text":"Checking both."})") + block_stop(0) +
         tool_use_start(1, "toolu_01A", "get_weather") + json_fragment(1, "") +
         json_fragment(1, R"({"city": "Pa)") + json_fragment(1, R"(ris"})") + block_stop(1) +
         tool_use_start(2, "toolu_01B", "get_time") + json_fragment(2, R"({"zone":)") +
         json_fragment(2, R"( "CET"})") + block_stop(2) + message_end("tool_use", 89);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(anthropic_test)

BOOST_AUTO_TEST_CASE(an_openai_tool_and_image_conversation_reads_into_anthropic_blocks) {
  auto req = nyxgate::providers::test::parsed(R"({"model":"auto","messages":[
      {"role":"user","content":[{"type":"text","text":"Weather here?"},
        {"type":"image_url","image_url":{"url":"data:image/webp;base64,UklGRg==","detail":"low"}}]},
      {"role":"assistant","content":null,"tool_calls":[{"id":"call_9","type":"function",
        "function":{"name":"get_weather","arguments":"{\"city\":\"Lyon\"}"}}]},
      {"role":"tool","tool_call_id":"call_9","content":[{"type":"text","text":"rain"}]}],
    "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
    "tool_choice":"required","parallel_tool_calls":false})");
  BOOST_TEST(!refused_parameter("anthropic", req));
  auto b = body_of(req);
  BOOST_TEST(
      json::serialize(b.at("messages")) ==
      R"([{"role":"user","content":[{"type":"text","text":"Weather here?"},)"
      R"({"type":"image","source":{"type":"base64","media_type":"image/webp","data":"UklGRg=="}}]},)"
      R"({"role":"assistant","content":[{"type":"tool_use","id":"call_9","name":"get_weather","input":{"city":"Lyon"}}]},)"
      R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"call_9","content":"rain"}]}])");
  BOOST_TEST(json::serialize(b.at("tool_choice")) ==
             R"({"type":"any","disable_parallel_tool_use":true})");
  auto refused = refused_parameter(
      "anthropic", nyxgate::providers::test::parsed(
                       R"({"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low",)"
                       R"("tools":[{"type":"function","function":{"name":"f"}}]})"));
  BOOST_REQUIRE(refused);
  BOOST_TEST(refused->param == "reasoning_effort");
}

BOOST_AUTO_TEST_CASE(tools_become_input_schemas_and_tool_choice_maps_to_anthropics) {
  chat_request req;
  req.messages = {text("user", "Weather?")};
  req.tools = {weather_tool(), {"no_params", "", "", std::nullopt}};
  auto b = body_of(req);
  const auto& tools = b.at("tools").as_array();
  BOOST_REQUIRE(tools.size() == 2u);
  BOOST_TEST(tools[0].at("name").as_string() == "get_weather");
  BOOST_TEST(tools[0].at("description").as_string() == "The weather in a city");
  BOOST_TEST(tools[0].at("input_schema").at("properties").at("city").at("type").as_string() ==
             "string");
  BOOST_TEST(!tools[0].as_object().contains("strict"));
  BOOST_TEST(!tools[1].as_object().contains("description"));
  BOOST_TEST(json::serialize(tools[1].at("input_schema")) ==
             R"({"type":"object","properties":{}})");
  BOOST_TEST(json::serialize(b.at("tool_choice")) == R"({"type":"auto"})");

  struct row {
    tool_choice::mode how;
    std::optional<bool> parallel;
    std::string_view expected;
  };
  for (auto [how, parallel, expected] : {
           row{tool_choice::mode::automatic, std::nullopt, R"({"type":"auto"})"},
           row{tool_choice::mode::none, std::nullopt, R"({"type":"none"})"},
           row{tool_choice::mode::required, std::nullopt, R"({"type":"any"})"},
           row{tool_choice::mode::function, std::nullopt,
               R"({"type":"tool","name":"get_weather"})"},
           row{tool_choice::mode::unset, false,
               R"({"type":"auto","disable_parallel_tool_use":true})"},
           row{tool_choice::mode::required, false,
               R"({"type":"any","disable_parallel_tool_use":true})"},
           row{tool_choice::mode::unset, true, R"({"type":"auto"})"},
           row{tool_choice::mode::none, false, R"({"type":"none"})"},
       }) {
    req.choice = {how, how == tool_choice::mode::function ? "get_weather" : ""};
    req.parallel_tool_calls = parallel;
    BOOST_TEST(json::serialize(body_of(req).at("tool_choice")) == expected);
  }
}

BOOST_AUTO_TEST_CASE(a_tool_round_alternates_turns_and_keeps_the_call_ids) {
  auto b = body_of(tool_conversation());
  BOOST_TEST(b.at("system").as_string() == "Be brief.");
  const auto& m = b.at("messages").as_array();
  BOOST_REQUIRE(m.size() == 3u);
  BOOST_TEST(m[0].at("role").as_string() == "user");
  BOOST_TEST(m[0].at("content").as_string() == "Weather in Paris and Oslo?");

  BOOST_TEST(m[1].at("role").as_string() == "assistant");
  const auto& said = m[1].at("content").as_array();
  BOOST_REQUIRE(said.size() == 3u);
  BOOST_TEST(json::serialize(said[0]) == R"({"type":"text","text":"Checking."})");
  BOOST_TEST(json::serialize(said[1]) ==
             R"({"type":"tool_use","id":"call_A1","name":"get_weather","input":{"city":"Paris"}})");
  BOOST_TEST(said[2].at("id").as_string() == "call_B2");

  // Both results and the next question in one user turn, the results first.
  BOOST_TEST(m[2].at("role").as_string() == "user");
  const auto& answered = m[2].at("content").as_array();
  BOOST_REQUIRE(answered.size() == 3u);
  BOOST_TEST(json::serialize(answered[0]) ==
             R"({"type":"tool_result","tool_use_id":"call_A1","content":"22C"})");
  BOOST_TEST(answered[1].at("tool_use_id").as_string() == "call_B2");
  BOOST_TEST(json::serialize(answered[2]) == R"({"type":"text","text":"Which is warmer?"})");
}

BOOST_AUTO_TEST_CASE(call_ids_anthropic_cannot_take_are_mapped_alike_in_use_and_result) {
  chat_request req;
  req.messages = {text("user", "Weather?"),
                  calls("", {{"functions.get_weather:0", "get_weather", "{}"},
                             {"functions.get_weather:1", "get_weather", "{}"}}),
                  result("functions.get_weather:0", "sun"),
                  result("functions.get_weather:1", "rain")};
  req.tools = {weather_tool()};
  auto m = body_of(req).at("messages").as_array();
  const auto& uses = m[1].at("content").as_array();
  const auto& results = m[2].at("content").as_array();
  std::string first{uses[0].at("id").as_string()};
  std::string second{uses[1].at("id").as_string()};
  BOOST_TEST(first.rfind("functions_get_weather_0_", 0) == 0u);
  BOOST_TEST(
      first.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
      std::string::npos);
  BOOST_TEST(first != second);
  BOOST_TEST(results[0].at("tool_use_id").as_string() == first);
  BOOST_TEST(results[1].at("tool_use_id").as_string() == second);
  // Ids Anthropic takes are kept as they are (tool_conversation's call_A1 elsewhere).
  BOOST_TEST(body_of(tool_conversation()).at("messages").at(1).at("content").at(1).at("id") ==
             "call_A1");
}

BOOST_AUTO_TEST_CASE(a_call_without_text_or_arguments_is_a_lone_tool_use_with_empty_input) {
  chat_request req;
  req.messages = {text("user", "Now?"), calls("", {{"call_1", "now", ""}}), result("call_1", ""),
                  text("user", "And a second user message"), text("user", "merges")};
  req.tools = {{"now", "", "", std::nullopt}};
  auto m = body_of(req).at("messages").as_array();
  BOOST_REQUIRE(m.size() == 3u);
  BOOST_TEST(json::serialize(m[1].at("content")) ==
             R"([{"type":"tool_use","id":"call_1","name":"now","input":{}}])");
  BOOST_TEST(json::serialize(m[2].at("content")) ==
             R"([{"type":"tool_result","tool_use_id":"call_1"},)"
             R"({"type":"text","text":"And a second user message"},)"
             R"({"type":"text","text":"merges"}])");
}

BOOST_AUTO_TEST_CASE(a_tool_history_without_tools_declares_them_and_forbids_calls) {
  auto req = tool_conversation();
  req.tools.clear();
  auto b = body_of(req);
  BOOST_TEST(json::serialize(b.at("tools")) ==
             R"([{"name":"get_weather","input_schema":{"type":"object"}}])");
  BOOST_TEST(json::serialize(b.at("tool_choice")) == R"({"type":"none"})");
  chat_request plain;
  plain.messages = {text("user", "Hi")};
  BOOST_TEST(!body_of(plain).contains("tools"));
  BOOST_TEST(!body_of(plain).contains("tool_choice"));
}

BOOST_AUTO_TEST_CASE(images_become_base64_or_url_image_blocks_in_order) {
  auto m = text("user", "What is this?\nAnd this?");
  m.parts = {
      {content_part::kind::text, "What is this?", {}},
      {content_part::kind::image, "", {"", "image/png", "iVBORw0KGgo=", "high"}},
      {content_part::kind::text, "And this?", {}},
      {content_part::kind::image, "", {"https://example.com/cat.jpg", "image/jpeg", "", ""}}};
  chat_request req;
  req.messages = {text("user", "Look:"), m};
  auto content = body_of(req).at("messages").at(0).at("content").as_array();
  BOOST_REQUIRE(content.size() == 5u);
  BOOST_TEST(json::serialize(content[0]) == R"({"type":"text","text":"Look:"})");
  BOOST_TEST(json::serialize(content[1]) == R"({"type":"text","text":"What is this?"})");
  BOOST_TEST(
      json::serialize(content[2]) ==
      R"({"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}})");
  BOOST_TEST(json::serialize(content[4]) ==
             R"({"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}})");
}

BOOST_AUTO_TEST_CASE(structured_output_is_a_forced_answer_tool) {
  chat_request req;
  req.messages = {text("user", "A person, please.")};
  req.format = {
      response_format::kind::json_schema, "person", "A person",
      R"({"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false})",
      true};
  auto b = body_of(req);
  BOOST_REQUIRE(b.at("tools").as_array().size() == 1u);
  const auto& tool = b.at("tools").at(0);
  BOOST_TEST(tool.at("name").as_string() == "nyxgate_json");
  BOOST_TEST(tool.at("description").as_string() == "A person");
  BOOST_TEST(tool.at("input_schema").at("required").at(0).as_string() == "name");
  BOOST_TEST(json::serialize(b.at("tool_choice")) == R"({"type":"tool","name":"nyxgate_json"})");

  req.format = {response_format::kind::json_object, "", "", "", false};
  b = body_of(req);
  BOOST_TEST(json::serialize(b.at("tools").at(0).at("input_schema")) == R"({"type":"object"})");
  BOOST_TEST(b.at("tool_choice").at("name").as_string() == "nyxgate_json");
}

BOOST_AUTO_TEST_CASE(reasoning_effort_is_a_thinking_budget_within_max_tokens) {
  struct row {
    std::string effort;
    std::int64_t max_tokens;
    std::int64_t budget;  ///< 0: no thinking
    std::int64_t sent_max_tokens;
  };
  for (const auto& [effort, max_tokens, budget, sent] : {
           row{R"("low")", 16384, 1024, 16384},
           row{R"("minimal")", 16384, 1024, 16384},
           row{R"("medium")", 16384, 4096, 16384},
           row{R"("high")", 16384, 16383, 16384},
           row{R"("high")", 8000, 7999, 8000},
           row{R"("none")", 16384, 0, 16384},
           // A tenant default too small for any budget grows to hold the smallest one.
           row{R"("medium")", 500, 1024, 1025},
       }) {
    auto b = body_of(with_effort(effort), max_tokens);
    BOOST_TEST_CONTEXT(effort << " with " << max_tokens) {
      BOOST_TEST(b.at("max_tokens").as_int64() == sent);
      if (budget == 0) {
        BOOST_TEST(!b.contains("thinking"));
      } else {
        BOOST_TEST(b.at("thinking").at("type").as_string() == "enabled");
        BOOST_TEST(b.at("thinking").at("budget_tokens").as_int64() == budget);
      }
      BOOST_TEST(!anthropic().refuse(with_effort(effort)));
    }
  }
}

BOOST_AUTO_TEST_CASE(what_anthropic_cannot_do_is_refused_naming_the_field) {
  auto named_answer_tool = tool_conversation();
  named_answer_tool.tools.push_back({"nyxgate_json", "", "", std::nullopt});
  BOOST_TEST(refused_param(named_answer_tool) == "tools[1].function.name");

  auto array_schema = tool_conversation();
  array_schema.tools[0].parameters = R"({"type":"array","items":{"type":"string"}})";
  BOOST_TEST(refused_param(array_schema) == "tools[0].function.parameters");

  auto format_and_tools = tool_conversation();
  format_and_tools.format.type = response_format::kind::json_object;
  BOOST_TEST(refused_param(format_and_tools) == "response_format");

  chat_request array_answer;
  array_answer.messages = {text("user", "List")};
  array_answer.format = {response_format::kind::json_schema, "list", "", R"({"type":"array"})",
                         true};
  BOOST_TEST(refused_param(array_answer) == "response_format.json_schema.schema");

  for (const char* arguments : {R"([1,2])", R"("text")", "{not json"}) {
    auto bad_arguments = tool_conversation();
    bad_arguments.messages[2].tool_calls[1].arguments = arguments;
    BOOST_TEST(refused_param(bad_arguments) == "messages[2].tool_calls[1].function.arguments");
  }

  auto hot = with_effort(R"("high")");
  hot.temperature = 0.5;
  BOOST_TEST(refused_param(hot) == "reasoning_effort");
  auto narrow = with_effort(R"("low")");
  narrow.top_p = 0.5;
  BOOST_TEST(refused_param(narrow) == "reasoning_effort");
  auto thinking_with_tools = tool_conversation();
  thinking_with_tools.provider_params = with_effort(R"("low")").provider_params;
  BOOST_TEST(refused_param(thinking_with_tools) == "reasoning_effort");
  auto thinking_with_history = thinking_with_tools;
  thinking_with_history.tools.clear();
  BOOST_TEST(refused_param(thinking_with_history) == "reasoning_effort");
  auto short_answer = with_effort(R"("low")");
  short_answer.max_tokens = 1024;
  BOOST_TEST(refused_param(short_answer) == "reasoning_effort");
  short_answer.max_tokens = 1025;
  BOOST_TEST(!anthropic().refuse(short_answer));
  BOOST_TEST(refused_param(with_effort(R"("extreme")")) == "reasoning_effort");

  BOOST_TEST(!anthropic().refuse(tool_conversation()));
}

BOOST_AUTO_TEST_CASE(the_new_fields_are_translated_and_unknown_ones_refused) {
  for (auto p : {chat_param::tools, chat_param::tool_choice, chat_param::parallel_tool_calls,
                 chat_param::image_part, chat_param::tool_message, chat_param::response_format,
                 chat_param::reasoning_effort, chat_param::user})
    BOOST_TEST((anthropic().handling(p) == param_handling::translated));
  for (auto p : {chat_param::other, chat_param::message_name, chat_param::seed})
    BOOST_TEST((anthropic().handling(p) == param_handling::refused));
}

BOOST_AUTO_TEST_CASE(tool_use_blocks_answer_as_tool_calls_with_cached_usage) {
  auto c = answer(R"({
    "id": "msg_01Aq9w938a90dw8q", "type": "message", "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [
      {"type": "text", "text": "I'll check both."},
      {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9",
       "name": "get_weather", "input": {"city": "San Francisco", "units": ["c", "f"]}},
      {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}}
    ],
    "stop_reason": "tool_use", "stop_sequence": null,
    "usage": {"input_tokens": 20, "cache_creation_input_tokens": 100,
              "cache_read_input_tokens": 2048, "output_tokens": 61}})");
  BOOST_TEST(c.content == "I'll check both.");
  BOOST_TEST(c.finish_reason == "tool_calls");
  BOOST_REQUIRE(c.tool_calls.size() == 2u);
  BOOST_TEST(c.tool_calls[0].id == "toolu_01A09q90qw90lq917835lq9");
  BOOST_TEST(c.tool_calls[0].name == "get_weather");
  BOOST_TEST(json::parse(c.tool_calls[0].arguments) ==
             json::parse(R"({"city":"San Francisco","units":["c","f"]})"));
  BOOST_TEST(c.tool_calls[1].arguments == "{}");
  BOOST_TEST(c.usage.prompt_tokens == 20 + 100 + 2048);
  BOOST_TEST(c.usage.cached_tokens == 2048);
  BOOST_TEST(c.usage.completion_tokens == 61);
  BOOST_TEST(c.upstream_id == "msg_01Aq9w938a90dw8q");
}

BOOST_AUTO_TEST_CASE(the_answer_tool_input_is_the_content_and_the_answer_stops) {
  auto c = answer(R"({"id":"msg_02","type":"message","role":"assistant","model":"claude",
    "content":[{"type":"tool_use","id":"toolu_9","name":"nyxgate_json",
                "input":{"name":"Ada","born":1815}}],
    "stop_reason":"tool_use","stop_sequence":null,
    "usage":{"input_tokens":30,"output_tokens":12}})");
  BOOST_TEST(c.tool_calls.empty());
  BOOST_TEST(json::parse(c.content) == json::parse(R"({"name":"Ada","born":1815})"));
  BOOST_TEST(c.finish_reason == "stop");
  BOOST_TEST(c.usage.prompt_tokens == 30);
  BOOST_TEST(c.usage.cached_tokens == 0);
}

BOOST_AUTO_TEST_CASE(a_stream_of_two_tool_calls_in_fragments_becomes_openai_deltas) {
  auto t = fold(two_call_stream());
  BOOST_TEST(t.content == "Checking both.");
  BOOST_REQUIRE(t.calls.size() == 2u);
  BOOST_TEST(t.calls[0].id == "toolu_01A");
  BOOST_TEST(t.calls[0].name == "get_weather");
  BOOST_TEST(t.calls[0].arguments == R"({"city": "Paris"})");
  BOOST_TEST(t.calls[1].id == "toolu_01B");
  BOOST_TEST(t.calls[1].name == "get_time");
  BOOST_TEST(t.calls[1].arguments == R"({"zone": "CET"})");
  BOOST_TEST(t.finish_reason == "tool_calls");
  BOOST_TEST(t.usage.prompt_tokens == 12 + 5 + 40);
  BOOST_TEST(t.usage.cached_tokens == 40);
  BOOST_TEST(t.usage.completion_tokens == 89);
  BOOST_TEST(t.done);
}

BOOST_AUTO_TEST_CASE(a_message_delta_with_input_counts_updates_them_and_zeros_keep_them) {
  auto base =
      message_start(R"({"input_tokens":12,"cache_read_input_tokens":40,"output_tokens":1})") +
      block_start(0, R"({"type":"text","text":""})") +
      block_delta(0, R"({"type":"text_delta","text":"Hi"})") + block_stop(0);
  auto repeated = fold(
      base +
      event(
          "message_delta",
          R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},)"
          R"("usage":{"input_tokens":13,"cache_creation_input_tokens":0,"cache_read_input_tokens":40,"output_tokens":3}})"));
  BOOST_TEST(repeated.usage.prompt_tokens == 53);
  BOOST_TEST(repeated.usage.cached_tokens == 40);
  BOOST_TEST(repeated.usage.completion_tokens == 3);
  auto zeros = fold(
      base +
      event("message_delta",
            R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},)"
            R"("usage":{"input_tokens":0,"cache_read_input_tokens":0,"output_tokens":3}})"));
  BOOST_TEST(zeros.usage.prompt_tokens == 52);
  BOOST_TEST(zeros.usage.cached_tokens == 40);
  BOOST_TEST(zeros.finish_reason == "stop");
}

BOOST_AUTO_TEST_CASE(a_stream_split_anywhere_assembles_the_same_calls) {
  auto stream = two_call_stream();
  auto whole = fold(stream);
  for (std::size_t cut = 0; cut <= stream.size(); cut += 13) {
    sse_parser parser;
    std::vector<sse_event> events;
    BOOST_REQUIRE(parser.feed(std::string_view{stream}.substr(0, cut), events));
    BOOST_REQUIRE(parser.feed(std::string_view{stream}.substr(cut), events));
    stream_state state;
    std::string arguments;
    for (const auto& e : events)
      for (const auto& d : anthropic().on_event(state, e).tool_calls) arguments += d.arguments;
    BOOST_REQUIRE_EQUAL(arguments, whole.calls[0].arguments + whole.calls[1].arguments);
  }
}

BOOST_AUTO_TEST_CASE(the_answer_tool_streams_as_content) {
  auto t = fold(message_start(R"({"input_tokens":9,"output_tokens":1})") +
                tool_use_start(0, "toolu_7", "nyxgate_json") + json_fragment(0, R"({"name")") +
                json_fragment(0, R"(: "Ada"})") + block_stop(0) + message_end("tool_use", 7));
  BOOST_TEST(t.content == R"({"name": "Ada"})");
  BOOST_TEST(t.calls.empty());
  BOOST_TEST(t.finish_reason == "stop");
  BOOST_TEST(t.usage.prompt_tokens == 9);
  BOOST_TEST(t.usage.completion_tokens == 7);
}

BOOST_AUTO_TEST_CASE(thinking_blocks_stay_out_of_the_answer) {
  auto c = answer(R"({"id":"msg_04","type":"message","role":"assistant","model":"claude",
    "content":[{"type":"thinking","thinking":"Let me see.","signature":"EqQB"},
               {"type":"text","text":"42"}],
    "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":50}})");
  BOOST_TEST(c.content == "42");
  BOOST_TEST(c.finish_reason == "stop");
  auto t = fold(block_start(0, R"({"type":"thinking","thinking":""})") +
                block_delta(0, R"({"type":"thinking_delta","thinking":"Hmm."})") +
                block_delta(0, R"({"type":"signature_delta","signature":"EqQB"})") + block_stop(0) +
                block_start(1, R"({"type":"text","text":""})") +
                block_delta(1, R"({"type":"text_delta","text":"42"})"));
  BOOST_TEST(t.content == "42");
}

BOOST_AUTO_TEST_SUITE_END()
