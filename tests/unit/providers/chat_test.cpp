// Translation between OpenAI's chat shape and each provider's wire format, from payloads
// written the way each provider's API reference shows them: requests, answers, errors, and
// streams fed to the SSE parser at every possible split point.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "providers/chat.hpp"
#include "tests/unit/providers/parsed_request.hpp"

using namespace nyxgate::providers;
namespace json = boost::json;
using nyxgate::providers::test::parsed;

namespace {

std::string error_param(std::string_view body) {
  auto r = parse_chat_request(body);
  auto* e = std::get_if<request_error>(&r);
  BOOST_REQUIRE_MESSAGE(e, "accepted: " << body);
  return e->param.empty() ? "<body>" : e->param;
}

const chat_request& conversation() {
  static const chat_request req = parsed(R"({"model":"auto","messages":[
      {"role":"system","content":"Be brief."},
      {"role":"user","content":"Hi"},
      {"role":"assistant","content":"Hello!"},
      {"role":"user","content":[{"type":"text","text":"What is 2+2?"},{"type":"text","text":"Answer."}]}],
      "temperature":1.5,"top_p":0.9,"stop":"END","max_tokens":77,"stream":true,
      "stream_options":{"include_usage":true},"user":"u-1","frequency_penalty":0})");
  return req;
}

json::value body_of(const upstream_request& r) {
  return json::parse(r.body);
}

std::string header(const upstream_request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

/// Feeds `stream` to a fresh parser split at `cut` (and again at `cut2`), returns the events.
std::vector<sse_event> parse_split(std::string_view stream, std::size_t cut, std::size_t cut2) {
  sse_parser p;
  std::vector<sse_event> out;
  cut = std::min(cut, stream.size());
  cut2 = std::max(cut, std::min(cut2, stream.size()));
  BOOST_REQUIRE(p.feed(stream.substr(0, cut), out));
  BOOST_REQUIRE(p.feed(stream.substr(cut, cut2 - cut), out));
  BOOST_REQUIRE(p.feed(stream.substr(cut2), out));
  return out;
}

struct translated {
  std::string content;
  std::string finish_reason;
  token_usage usage;
  bool done = false;
  std::optional<failure> error;
};

translated translate(const std::string& provider, std::string_view stream) {
  sse_parser p;
  std::vector<sse_event> events;
  BOOST_REQUIRE(p.feed(stream, events));
  stream_translator t(provider);
  translated out;
  for (const auto& e : events) {
    auto step = t.on_event(e);
    out.content += step.content;
    if (!step.finish_reason.empty()) out.finish_reason = step.finish_reason;
    if (step.usage) out.usage = *step.usage;
    if (step.done) out.done = true;
    if (step.error) out.error = step.error;
  }
  return out;
}

const char* const openai_stream =
    "data: "
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-"
    "4o\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_"
    "reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-"
    "4o\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-"
    "4o\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\\n\"},\"finish_reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-"
    "4o\","
    "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-"
    "4o\","
    "\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}"
    "\n\n"
    "data: [DONE]\n\n";

const char* const anthropic_stream =
    "event: message_start\r\n"
    "data: "
    "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":"
    "\"assistant\","
    "\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\r\n\r\n"
    "event: content_block_start\r\n"
    "data: "
    "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":"
    "\"\"}}\r\n\r\n"
    "event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: "
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"
    "\"Hello\"}}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: "
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"!"
    "\"}}\r\n\r\n"
    "event: content_block_stop\r\ndata: {\"type\":\"content_block_stop\",\"index\":0}\r\n\r\n"
    "event: message_delta\r\n"
    "data: "
    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
    "\"usage\":{\"output_tokens\":15}}\r\n\r\n"
    "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";

const char* const google_stream =
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The\"}],\"role\": "
    "\"model\"},\"index\": 0}],"
    "\"usageMetadata\": {\"promptTokenCount\": 8,\"candidatesTokenCount\": 1,\"totalTokenCount\": "
    "9},"
    "\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" sky is blue\"}],\"role\": "
    "\"model\"},"
    "\"finishReason\": \"MAX_TOKENS\",\"index\": 0}],"
    "\"usageMetadata\": {\"promptTokenCount\": 8,\"candidatesTokenCount\": 4,\"totalTokenCount\": "
    "12}}\r\n\r\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(chat_request_test)

BOOST_AUTO_TEST_CASE(a_full_request_is_read_field_by_field) {
  const auto& r = conversation();
  BOOST_TEST(r.model == "auto");
  BOOST_REQUIRE(r.messages.size() == 4u);
  BOOST_TEST(r.messages[3].content == "What is 2+2?\nAnswer.");
  BOOST_TEST(*r.temperature == 1.5);
  BOOST_TEST(*r.top_p == 0.9);
  BOOST_TEST(r.stop == std::vector<std::string>{"END"});
  BOOST_TEST(*r.max_tokens == 77);
  BOOST_TEST(r.stream);
  BOOST_TEST(r.include_usage);
  BOOST_REQUIRE(r.param(chat_param::user));
  BOOST_TEST(r.param(chat_param::user)->json == R"("u-1")");
  BOOST_TEST(!r.param(chat_param::frequency_penalty));  // 0 asks for the default
  BOOST_TEST(*parsed(R"({"messages":[{"role":"user","content":"x"}],"max_completion_tokens":5})")
                  .max_tokens == 5);
  BOOST_TEST(parsed(R"({"messages":[{"role":"user","content":"x"}]})").model.empty());
}

BOOST_AUTO_TEST_CASE(a_repeated_key_counts_once_the_first_time) {
  // Fields are read in one pass; a key given twice keeps its first value, in messages too.
  auto r = parsed(R"({"model":"gpt-a","n":1,"model":"gpt-b","messages":[
      {"content":"one","role":"user","content":"two","name":"x"}],"stream":true,"stream":false})");
  BOOST_TEST(r.model == "gpt-a");
  BOOST_REQUIRE(r.messages.size() == 1u);
  BOOST_TEST(r.messages[0].content == "one");
  BOOST_TEST(r.messages[0].name == "x");
  BOOST_TEST(r.stream);
  // Both length fields: the later one in the list of names wins, whatever the body's order.
  BOOST_TEST(*parsed(R"({"max_completion_tokens":9,"messages":[{"role":"user","content":"x"}],
      "max_tokens":3})")
                  .max_tokens == 9);
}

BOOST_AUTO_TEST_CASE(bad_requests_name_the_offending_field) {
  const std::pair<const char*, const char*> rows[] = {
      {"not json", "<body>"},
      {"[1,2]", "<body>"},
      {R"({"model":"m"})", "messages"},
      {R"({"messages":{}})", "messages"},
      {R"({"messages":[]})", "messages"},
      {R"({"messages":["hi"]})", "messages[0]"},
      {R"({"messages":[{"role":"robot","content":"x"}]})", "messages[0].role"},
      {R"({"messages":[{"role":"user"}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user","content":5}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})",
       "messages[0].content[0].image_url"},
      {R"({"model":5,"messages":[{"role":"user","content":"x"}]})", "model"},
      {R"({"messages":[{"role":"user","content":"x"}],"temperature":3})", "temperature"},
      {R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})", "temperature"},
      {R"({"messages":[{"role":"user","content":"x"}],"top_p":1.5})", "top_p"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})", "max_tokens"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":2.5})", "max_tokens"},
      {R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})", "stream"},
      {R"({"messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]})", "stop"},
      {R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})", "stop"},
      {R"({"messages":[{"role":"user","content":"x"}],"n":2})", "n"},
      {R"({"messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":1}})",
       "stream_options.include_usage"},
      {R"({"messages":[{"role":"user","content":"x"}],"seed":1.5})", "seed"},
      {R"({"messages":[{"role":"user","content":"x"}],"frequency_penalty":3})",
       "frequency_penalty"},
      {R"({"messages":[{"role":"user","content":"x"}],"user":5})", "user"},
      {R"({"messages":[{"role":"user","content":"x"}],"logprobs":"yes"})", "logprobs"},
      {R"({"model":"google/../x","messages":[{"role":"user","content":"x"}]})", "model"},
  };
  for (const auto& [body, param] : rows) BOOST_TEST(error_param(body) == param, body);
}

BOOST_AUTO_TEST_CASE(deeply_nested_json_is_refused_not_recursed) {
  std::string deep(10000, '[');
  BOOST_TEST(error_param(R"({"messages":)" + deep + "}") == "<body>");
  // 64 levels are the limit: 63 arrays inside the body's object still parse (and fail on type).
  std::string deep_ok = std::string(62, '[') + std::string(62, ']');
  BOOST_TEST(error_param(R"({"messages":[)" + deep_ok + "]}") == "messages[0]");
}

BOOST_AUTO_TEST_CASE(integers_beyond_64_bits_make_the_body_invalid) {
  // simdjson refuses them (Boost.JSON turned them into doubles): a 400 for the body either way.
  auto r = parse_chat_request(
      R"({"messages":[{"role":"user","content":"x"}],"max_tokens":99999999999999999999})");
  auto* e = std::get_if<request_error>(&r);
  BOOST_REQUIRE(e);
  BOOST_TEST(e->message.starts_with("the body is not valid JSON"));
  BOOST_TEST(parsed(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":9007199254740993})")
                 .max_tokens.value() == 9007199254740993);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(upstream_request_test)

BOOST_AUTO_TEST_CASE(openai_gets_its_own_shape_with_bearer_auth) {
  auto r = build_upstream_request("openai", "https://api.openai.com/", "sk-test", conversation(),
                                  "gpt-4o", 77);
  BOOST_TEST(r.url == "https://api.openai.com/v1/chat/completions");
  BOOST_TEST(header(r, "authorization") == "Bearer sk-test");
  auto b = body_of(r);
  BOOST_TEST(b.at("model").as_string() == "gpt-4o");
  BOOST_TEST(b.at("messages").as_array().size() == 4u);
  BOOST_TEST(b.at("messages").at(0).at("role").as_string() == "system");
  BOOST_TEST(b.at("max_completion_tokens").as_int64() == 77);
  BOOST_TEST(b.at("stream").as_bool());
  BOOST_TEST(b.at("stream_options").at("include_usage").as_bool());
  BOOST_TEST(b.at("stop").at(0).as_string() == "END");
  BOOST_TEST(b.at("temperature").as_double() == 1.5);
}

BOOST_AUTO_TEST_CASE(openai_body_round_trips_every_field_and_character) {
  // The body is written by hand, not through a JSON DOM: whatever the client sent must come
  // back out as the same values.
  auto req = parsed(R"({"model":"auto","messages":[
      {"role":"developer","content":"quote \" backslash \\ tab \t nl \n ctl \u0001 é 漢 😀"},
      {"role":"user","name":"ann \"a\"","content":"x"}],
      "temperature":0.000015,"top_p":1,"stop":["a\"b","\n"],"user":"u \\ 1"})");
  auto r = build_upstream_request("openai", "https://api.openai.com", "sk-test", req, "gpt-4o", 5);
  auto b = body_of(r);
  const auto& m = b.at("messages").as_array();
  BOOST_REQUIRE(m.size() == 2u);
  BOOST_TEST(m.at(0).at("role").as_string() == "developer");
  BOOST_TEST(m.at(0).at("content").as_string() ==
             "quote \" backslash \\ tab \t nl \n ctl \x01 \xc3\xa9 \xe6\xbc\xa2 \xf0\x9f\x98\x80");
  BOOST_TEST(m.at(1).at("name").as_string() == "ann \"a\"");
  BOOST_TEST(!m.at(0).as_object().contains("name"));
  BOOST_TEST(b.at("temperature").to_number<double>() == 0.000015);
  BOOST_TEST(b.at("top_p").to_number<double>() == 1.0);
  BOOST_TEST(b.at("stop").at(0).as_string() == "a\"b");
  BOOST_TEST(b.at("stop").at(1).as_string() == "\n");
  BOOST_TEST(b.at("user").as_string() == "u \\ 1");
  BOOST_TEST(b.at("max_completion_tokens").as_int64() == 5);
  BOOST_TEST(!b.as_object().contains("stream"));
  BOOST_TEST(!b.as_object().contains("stream_options"));
  // Kimi knows no developer role.
  auto k = body_of(build_upstream_request("kimi", "https://api.moonshot.ai", "sk", req, "k2", 5));
  BOOST_TEST(k.at("messages").at(0).at("role").as_string() == "system");
}

BOOST_AUTO_TEST_CASE(kimi_is_openai_compatible_with_max_tokens) {
  auto r = build_upstream_request("kimi", "https://api.moonshot.ai", "sk-kimi", conversation(),
                                  "kimi-k2", 10);
  BOOST_TEST(r.url == "https://api.moonshot.ai/v1/chat/completions");
  BOOST_TEST(body_of(r).at("max_tokens").as_int64() == 10);
}

BOOST_AUTO_TEST_CASE(anthropic_takes_system_apart_and_needs_max_tokens) {
  auto r = build_upstream_request("anthropic", "https://api.anthropic.com", "sk-ant",
                                  conversation(), "claude-sonnet-4-5", 77);
  BOOST_TEST(r.url == "https://api.anthropic.com/v1/messages");
  BOOST_TEST(header(r, "x-api-key") == "sk-ant");
  BOOST_TEST(header(r, "anthropic-version") == "2023-06-01");
  BOOST_TEST(header(r, "authorization").empty());
  auto b = body_of(r);
  BOOST_TEST(b.at("system").as_string() == "Be brief.");
  BOOST_TEST(b.at("max_tokens").as_int64() == 77);
  const auto& m = b.at("messages").as_array();
  BOOST_REQUIRE(m.size() == 3u);
  BOOST_TEST(m[0].at("role").as_string() == "user");
  BOOST_TEST(m[1].at("role").as_string() == "assistant");
  BOOST_TEST(b.at("stop_sequences").at(0).as_string() == "END");
  BOOST_TEST(b.at("temperature").as_double() == 1.0);  // clamped into Anthropic's 0..1
  BOOST_TEST(!b.as_object().contains("stream_options"));
}

BOOST_AUTO_TEST_CASE(anthropic_merges_consecutive_turns_of_one_side) {
  auto req = parsed(R"({"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},
      {"role":"system","content":"s1"},{"role":"developer","content":"s2"}]})");
  auto b = body_of(build_upstream_request("anthropic", "https://x", "k", req, "claude", 5));
  BOOST_REQUIRE(b.at("messages").as_array().size() == 1u);
  BOOST_TEST(b.at("messages").at(0).at("content").as_string() == "a\n\nb");
  BOOST_TEST(b.at("system").as_string() == "s1\n\ns2");
  BOOST_TEST(!b.as_object().contains("stream"));
}

BOOST_AUTO_TEST_CASE(google_uses_contents_roles_and_generation_config) {
  auto r = build_upstream_request("google", "https://generativelanguage.googleapis.com",
                                  "AIza-test", conversation(), "gemini-2.5-flash", 77);
  BOOST_TEST(r.url ==
             "https://generativelanguage.googleapis.com/v1beta/models/"
             "gemini-2.5-flash:streamGenerateContent?alt=sse");
  BOOST_TEST(header(r, "x-goog-api-key") == "AIza-test");
  auto b = body_of(r);
  BOOST_TEST(b.at("systemInstruction").at("parts").at(0).at("text").as_string() == "Be brief.");
  const auto& c = b.at("contents").as_array();
  BOOST_REQUIRE(c.size() == 3u);
  BOOST_TEST(c[1].at("role").as_string() == "model");
  BOOST_TEST(c[2].at("parts").at(0).at("text").as_string() == "What is 2+2?\nAnswer.");
  BOOST_TEST(b.at("generationConfig").at("maxOutputTokens").as_int64() == 77);
  BOOST_TEST(b.at("generationConfig").at("topP").as_double() == 0.9);
  BOOST_TEST(b.at("generationConfig").at("stopSequences").at(0).as_string() == "END");
  auto plain = parsed(R"({"messages":[{"role":"user","content":"x"}]})");
  BOOST_TEST(build_upstream_request("google", "https://g/", "k", plain, "gemini-x", 1).url ==
             "https://g/v1beta/models/gemini-x:generateContent");
}

BOOST_AUTO_TEST_CASE(a_model_name_that_would_steer_the_url_is_a_400_naming_model) {
  for (const char* model : {"google/../../../evil/path?x=1#", "google/..", "google/a/b",
                            "google/gemini 2", "openai/gpt-4o#x", "google/a%2F..", "../x", "a\\b",
                            "google/", "/gemini", "google/-x", "google/.hidden"}) {
    auto body = json::serialize(
        json::object{{"model", model},
                     {"messages", json::array{json::object{{"role", "user"}, {"content", "x"}}}}});
    auto r = parse_chat_request(body);
    auto* e = std::get_if<request_error>(&r);
    BOOST_REQUIRE_MESSAGE(e, "accepted: " << model);
    BOOST_TEST(e->param == "model", model);
    BOOST_TEST(e->code == "invalid_model", model);
  }
  BOOST_TEST(
      parsed(R"({"model":"google/gemini-2.5-flash","messages":[{"role":"user","content":"x"}]})")
          .model == "google/gemini-2.5-flash");
}

BOOST_AUTO_TEST_CASE(path_segments_are_percent_encoded_but_for_unreserved_bytes) {
  const std::pair<std::string_view, std::string_view> rows[] = {
      {"gemini-2.5-flash_x~1", "gemini-2.5-flash_x~1"},
      {"../../evil", "..%2F..%2Fevil"},
      {"a?b#c", "a%3Fb%23c"},
      {"ft:gpt", "ft%3Agpt"},
      {"sp ace%", "sp%20ace%25"},
      {"back\\slash", "back%5Cslash"},
      {std::string_view{"nul\0\xff", 5}, "nul%00%FF"},
      {"", ""},
  };
  for (const auto& [segment, encoded] : rows) {
    std::string url = "https://x/";
    append_path_segment(url, segment);
    BOOST_TEST(url == "https://x/" + std::string{encoded});
  }
  // Whatever model reaches Google's builder stays one segment under the base path.
  auto plain = parsed(R"({"messages":[{"role":"user","content":"x"}]})");
  BOOST_TEST(build_upstream_request("google", "https://g/base", "k", plain, "../../x?y#", 1).url ==
             "https://g/base/v1beta/models/..%2F..%2Fx%3Fy%23:generateContent");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(completion_test)

BOOST_AUTO_TEST_CASE(each_provider_answer_becomes_one_completion) {
  struct row {
    const char* provider;
    const char* body;
    const char* content;
    const char* finish;
    std::int64_t prompt, completion;
  };
  const row rows[] = {
      {"openai",
       R"({"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"gpt-4o",
           "choices":[{"index":0,"message":{"role":"assistant","content":"Hi \"there\"","refusal":null},
           "logprobs":null,"finish_reason":"stop"}],
           "usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29}})",
       "Hi \"there\"", "stop", 19, 10},
      {"kimi",
       R"({"id":"cmpl-1","object":"chat.completion","created":1,"model":"kimi-k2",
           "choices":[{"index":0,"message":{"role":"assistant","content":"Moon"},"finish_reason":"length"}],
           "usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})",
       "Moon", "length", 3, 1},
      {"anthropic",
       R"({"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5",
           "content":[{"type":"text","text":"Hello"},{"type":"text","text":" world"}],
           "stop_reason":"max_tokens","stop_sequence":null,
           "usage":{"input_tokens":12,"output_tokens":6}})",
       "Hello world", "length", 12, 6},
      {"google",
       R"({"candidates":[{"content":{"parts":[{"text":"Blue"},{"text":" sky"}],"role":"model"},
           "finishReason":"SAFETY","index":0}],
           "usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":6},
           "modelVersion":"gemini-2.5-flash","responseId":"abc"})",
       "Blue sky", "content_filter", 4, 2},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.provider) {
      auto out = parse_completion(r.provider, r.body);
      BOOST_REQUIRE(std::holds_alternative<chat_completion>(out));
      const auto& c = std::get<chat_completion>(out);
      BOOST_TEST(c.content == r.content);
      BOOST_TEST(c.finish_reason == r.finish);
      BOOST_TEST(c.usage.prompt_tokens == r.prompt);
      BOOST_TEST(c.usage.completion_tokens == r.completion);
    }
  }
  BOOST_TEST(std::holds_alternative<std::string>(parse_completion("openai", "<html>")));
  BOOST_TEST(
      std::holds_alternative<std::string>(parse_completion("google", R"({"candidates":[]})")));
}

BOOST_AUTO_TEST_CASE(the_rendered_completion_is_openais_shape) {
  chat_completion c{"a \"quoted\"\nline", "stop", {5, 7}, "up-1"};
  auto v = json::parse(render_completion(c, "chatcmpl-x", "gpt-4o", 42));
  BOOST_TEST(v.at("object").as_string() == "chat.completion");
  BOOST_TEST(v.at("choices").at(0).at("message").at("content").as_string() == c.content);
  BOOST_TEST(v.at("usage").at("total_tokens").as_int64() == 12);
  BOOST_TEST(v.at("created").as_int64() == 42);
  auto chunk = json::parse(render_chunk("id", "m", 1, "x\u0001", true, ""));
  BOOST_TEST(chunk.at("choices").at(0).at("delta").at("role").as_string() == "assistant");
  BOOST_TEST(chunk.at("choices").at(0).at("delta").at("content").as_string() == "x\u0001");
  BOOST_TEST(chunk.at("choices").at(0).at("finish_reason").is_null());
  auto last = json::parse(render_chunk("id", "m", 1, "", false, "length"));
  BOOST_TEST(last.at("choices").at(0).at("delta").as_object().empty());
  BOOST_TEST(last.at("choices").at(0).at("finish_reason").as_string() == "length");
  // A stream renders its shared head once; each chunk after it is the same JSON.
  auto head = render_chunk_head("chatcmpl-\"q\"", "m\n1", 77);
  std::string out = "left over from an earlier chunk";
  render_chunk_with_head(out, head, "tok", false, "");
  BOOST_TEST(out == render_chunk("chatcmpl-\"q\"", "m\n1", 77, "tok", false, ""));
  auto reparsed = json::parse(out);
  BOOST_TEST(reparsed.at("id").as_string() == "chatcmpl-\"q\"");
  BOOST_TEST(reparsed.at("model").as_string() == "m\n1");
  BOOST_TEST(reparsed.at("created").as_int64() == 77);
  auto usage = json::parse(render_usage_chunk("id", "m", 1, {3, 4}));
  BOOST_TEST(usage.at("choices").as_array().empty());
  BOOST_TEST(usage.at("usage").at("total_tokens").as_int64() == 7);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(failure_test)

BOOST_AUTO_TEST_CASE(each_provider_error_is_classified_per_spec) {
  struct row {
    const char* provider;
    unsigned status;
    const char* body;
    failure_kind kind;
  };
  const row rows[] = {
      {"openai", 401,
       R"({"error":{"message":"Incorrect API key provided: sk-abc***xyz","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})",
       failure_kind::key_invalid},
      {"openai", 429,
       R"({"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}})",
       failure_kind::key_quota},
      {"openai", 429,
       R"({"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}})",
       failure_kind::retryable},
      {"openai", 400,
       R"({"error":{"message":"context_length_exceeded","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})",
       failure_kind::client_error},
      {"openai", 402, "", failure_kind::key_quota},
      {"openai", 500, "", failure_kind::retryable},
      {"openai", 503, "<html>", failure_kind::retryable},
      {"kimi", 429, R"({"error":{"message":"quota","type":"exceeded_current_quota_error"}})",
       failure_kind::key_quota},
      {"anthropic", 400,
       R"({"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}})",
       failure_kind::key_quota},
      {"anthropic", 400,
       R"({"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}})",
       failure_kind::client_error},
      {"anthropic", 401,
       R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}})",
       failure_kind::key_invalid},
      {"anthropic", 403, "", failure_kind::key_invalid},
      {"anthropic", 529,
       R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
       failure_kind::retryable},
      {"google", 400,
       R"({"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",
           "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}})",
       failure_kind::key_invalid},
      {"google", 400,
       R"({"error":{"code":400,"message":"Invalid JSON payload","status":"INVALID_ARGUMENT"}})",
       failure_kind::client_error},
      {"google", 429,
       R"({"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}})",
       failure_kind::retryable},
      {"google", 404,
       R"({"error":{"code":404,"message":"models/x is not found","status":"NOT_FOUND"}})",
       failure_kind::client_error},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.provider << " " << r.status << " " << r.body) {
      auto f = classify_failure(r.provider, r.status, r.body, "");
      BOOST_TEST(static_cast<int>(f.kind) == static_cast<int>(r.kind));
      BOOST_TEST(f.status == r.status);
      BOOST_TEST(f.reason.starts_with("http " + std::to_string(r.status)));
      // The reason is logged and returned: it never quotes the provider's message.
      BOOST_TEST(f.reason.find("sk-abc") == std::string::npos);
      if (r.kind == failure_kind::client_error) BOOST_TEST(!f.message.empty());
      if (r.kind != failure_kind::client_error) BOOST_TEST(f.message.empty());
    }
  }
  auto bad = classify_failure("google", 404, R"({"error":{"message":"nope"}})", "");
  BOOST_TEST(bad.type == "invalid_request_error");
  BOOST_TEST(bad.message == "nope");
}

BOOST_AUTO_TEST_CASE(retry_after_is_read_as_seconds_or_a_date) {
  BOOST_TEST(*classify_failure("openai", 429, "", "2").retry_after_ms == 2000);
  BOOST_TEST(*classify_failure("openai", 429, "", "0.5").retry_after_ms == 500);
  BOOST_TEST(!classify_failure("openai", 429, "", "").retry_after_ms);
  BOOST_TEST(!classify_failure("openai", 429, "", "soon").retry_after_ms);
  BOOST_TEST(*classify_failure("openai", 503, "", "Sun, 06 Nov 1994 08:49:37 GMT").retry_after_ms ==
             0);
  auto t = std::time(nullptr) + 30;
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", std::gmtime(&t));
  auto ms = *classify_failure("openai", 503, "", date).retry_after_ms;
  BOOST_TEST(ms >= 28000);
  BOOST_TEST(ms <= 30000);
}

BOOST_AUTO_TEST_CASE(transport_failures_are_retryable_without_a_status) {
  auto f = transport_failure("connect: connection refused");
  BOOST_TEST(static_cast<int>(f.kind) == static_cast<int>(failure_kind::retryable));
  BOOST_TEST(f.status == 0u);
  BOOST_TEST(f.reason == "connect: connection refused");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sse_parser_test)

BOOST_AUTO_TEST_CASE(the_callback_form_sees_each_event_once_with_no_leftovers_between) {
  // The parser reuses one event's buffers for the next: every field must start empty.
  sse_parser p;
  std::vector<sse_event> seen;
  auto keep = [&](const sse_event& e) { seen.push_back(e); };
  BOOST_REQUIRE(
      p.feed("event: first\nid: 7\ndata: a long first payload line\ndata: two\n\n"
             "data: b\n\n: comment\n\nevent: last\ndata: c",
             keep));
  BOOST_REQUIRE(p.feed("\n\n", keep));
  BOOST_REQUIRE(seen.size() == 3u);
  BOOST_TEST(seen[0].event == "first");
  BOOST_TEST(seen[0].id == "7");
  BOOST_TEST(seen[0].data == "a long first payload line\ntwo");
  BOOST_TEST(seen[1].event == "");
  BOOST_TEST(seen[1].id == "");
  BOOST_TEST(seen[1].data == "b");
  BOOST_TEST(seen[2].event == "last");
  BOOST_TEST(seen[2].data == "c");
}

BOOST_AUTO_TEST_CASE(events_survive_every_split_point) {
  for (const char* stream : {openai_stream, anthropic_stream, google_stream}) {
    std::string_view s{stream};
    auto whole = parse_split(s, s.size(), s.size());
    BOOST_REQUIRE(!whole.empty());
    for (std::size_t cut = 0; cut <= s.size(); cut += 1) {
      auto events = parse_split(s, cut, cut + 7);
      BOOST_REQUIRE_EQUAL(events.size(), whole.size());
      for (std::size_t i = 0; i < events.size(); ++i) {
        BOOST_REQUIRE_EQUAL(events[i].data, whole[i].data);
        BOOST_REQUIRE_EQUAL(events[i].event, whole[i].event);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(the_whatwg_rules_hold) {
  sse_parser p;
  std::vector<sse_event> out;
  BOOST_REQUIRE(
      p.feed("\xEF\xBB\xBF: a comment\n"
             "event: first\ndata: line one\ndata:line two\nid: 7\nretry: 100\n\n"
             "data\n\n"
             "event: dropped-without-data\n\n"
             "data: cr\rdata: only\r\r"
             "unknown: field\ndata: last\r\n\r\n",
             out));
  BOOST_REQUIRE(out.size() == 4u);
  BOOST_TEST(out[0].event == "first");
  BOOST_TEST(out[0].data == "line one\nline two");
  BOOST_TEST(out[0].id == "7");
  BOOST_TEST(out[1].data == "");
  BOOST_TEST(out[1].event == "");
  BOOST_TEST(out[2].data == "cr\nonly");
  BOOST_TEST(out[3].data == "last");
}

BOOST_AUTO_TEST_CASE(a_bom_split_across_reads_is_still_dropped) {
  sse_parser p;
  std::vector<sse_event> out;
  BOOST_REQUIRE(p.feed("\xEF", out));
  BOOST_REQUIRE(p.feed("\xBB", out));
  BOOST_REQUIRE(
      p.feed("\xBF"
             "data: x\n\n",
             out));
  BOOST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].data == "x");
}

BOOST_AUTO_TEST_CASE(an_oversize_event_is_an_error_not_a_memory_sink) {
  sse_parser p(1024);
  std::vector<sse_event> out;
  std::string big = "data: " + std::string(2000, 'x');
  BOOST_TEST(!p.feed(big, out));
  sse_parser q(1024);
  bool ok = true;
  for (int i = 0; i < 100 && ok; ++i) ok = q.feed("data: " + std::string(50, 'y') + "\n", out);
  BOOST_TEST(!ok);  // many small lines of one event count together
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(stream_translator_test)

BOOST_AUTO_TEST_CASE(openai_chunks_become_steps) {
  auto t = translate("openai", openai_stream);
  BOOST_TEST(t.content == "Hello there\n");
  BOOST_TEST(t.finish_reason == "length");
  BOOST_TEST(t.usage.prompt_tokens == 9);
  BOOST_TEST(t.usage.completion_tokens == 3);
  BOOST_TEST(t.done);
  BOOST_TEST(!t.error);
}

BOOST_AUTO_TEST_CASE(anthropic_events_become_steps) {
  auto t = translate("anthropic", anthropic_stream);
  BOOST_TEST(t.content == "Hello!");
  BOOST_TEST(t.finish_reason == "stop");
  BOOST_TEST(t.usage.prompt_tokens == 25);
  BOOST_TEST(t.usage.completion_tokens == 15);
  BOOST_TEST(t.done);
}

BOOST_AUTO_TEST_CASE(google_responses_become_steps_and_end_with_the_body) {
  auto t = translate("google", google_stream);
  BOOST_TEST(t.content == "The sky is blue");
  BOOST_TEST(t.finish_reason == "length");
  BOOST_TEST(t.usage.prompt_tokens == 8);
  BOOST_TEST(t.usage.completion_tokens == 4);
  BOOST_TEST(!t.done);
}

BOOST_AUTO_TEST_CASE(kimi_usage_inside_the_choice_is_read) {
  auto t = translate("kimi",
                     "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},"
                     "\"finish_reason\":\"stop\",\"usage\":{\"prompt_tokens\":4,"
                     "\"completion_tokens\":1,\"total_tokens\":5}}]}\n\ndata: [DONE]\n\n");
  BOOST_TEST(t.content == "Hi");
  BOOST_TEST(t.usage.prompt_tokens == 4);
  BOOST_TEST(t.done);
}

BOOST_AUTO_TEST_CASE(errors_inside_a_stream_are_failures) {
  auto a =
      translate("anthropic",
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                "\"message\":\"Overloaded\"}}\n\n");
  BOOST_REQUIRE(a.error);
  BOOST_TEST(static_cast<int>(a.error->kind) == static_cast<int>(failure_kind::retryable));
  BOOST_TEST(a.error->reason == "stream error: overloaded_error");
  auto o =
      translate("openai", "data: {\"error\":{\"message\":\"x\",\"type\":\"server_error\"}}\n\n");
  BOOST_REQUIRE(o.error);
  auto junk = translate("openai", "data: {not json\n\n");
  BOOST_REQUIRE(junk.error);
  BOOST_TEST(junk.error->reason == "unreadable stream event");
}

BOOST_AUTO_TEST_SUITE_END()
