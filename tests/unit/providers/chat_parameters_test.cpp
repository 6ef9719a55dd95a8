// Every parameter of OpenAI's Chat Completions request, top level and per message, with what
// each provider gets: forwarded (same name, same value), translated (the provider's own
// shape) or refused (400 naming the parameter and the provider). Nothing is dropped. The
// table in docs/chat-parameters.md is this table, rendered; the test keeps them equal.
#include <array>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "providers/chat.hpp"

using namespace nyxgate::providers;
namespace json = boost::json;

namespace {

enum how { F, T, R };  // forwarded, translated, refused
constexpr std::array<std::string_view, 4> providers{"openai", "anthropic", "google", "kimi"};

struct param_row {
  std::string_view name;                  ///< as the docs list it
  std::string_view body;                  ///< a request that uses it
  std::array<how, 4> handling;            ///< openai, anthropic, google, kimi
  std::array<std::string_view, 4> lands;  ///< where it lands in each body ("": not in the body)
  std::string_view from = {};             ///< the value a forwarded parameter keeps
  std::string_view param = {};            ///< the `param` of the 400 (default: `name`)
  std::string_view note = {};
};

constexpr std::string_view hi = R"({"role":"user","content":"hi"})";

#define BODY(extra) R"({"model":"m-1","messages":[{"role":"user","content":"hi"}],)" extra "}"
#define MESSAGES(list) R"({"model":"m-1","messages":[)" list "]}"
#define TOOLS \
  R"("tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}])"
#define CALL_AND_RESULT                                                                            \
  R"({"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"t1",)" \
  R"("type":"function","function":{"name":"f","arguments":"{}"}}]},)"                              \
  R"({"role":"tool","tool_call_id":"t1","content":"42"})"
#define REFUSED \
  {R, R, R, R}, {}

const param_row rows[] = {
    // -- top level ---------------------------------------------------------------------
    {"messages",
     MESSAGES(R"({"role":"user","content":"hi"})"),
     {F, T, T, F},
     {"/messages", "/messages", "/contents", "/messages"},
     "",
     "",
     "see the rows below"},
    {"model",
     MESSAGES(R"({"role":"user","content":"hi"})"),
     {F, F, T, F},
     {"/model", "/model", "", "/model"},
     "/model",
     "",
     "`auto`/`default` and `provider/` resolve first (SPEC §3); Google's is the URL path, "
     "percent-encoded; a name outside `valid_model_name` is a 400 `invalid_model`"},
    {"audio", BODY(R"("audio":{"voice":"alloy","format":"mp3"})"), REFUSED},
    {"frequency_penalty",
     BODY(R"("frequency_penalty":0.5)"),
     {F, R, T, F},
     {"/frequency_penalty", "", "/generationConfig/frequencyPenalty", "/frequency_penalty"},
     "/frequency_penalty",
     "",
     "0 (the default) is accepted everywhere"},
    {"function_call", BODY(R"("function_call":"auto")"), REFUSED},
    {"functions", BODY(R"("functions":[{"name":"f","parameters":{}}])"), REFUSED},
    {"logit_bias",
     BODY(R"("logit_bias":{"50256":-100})"),
     {F, R, R, R},
     {"/logit_bias", "", "", ""},
     "/logit_bias",
     "",
     "`{}` is accepted everywhere"},
    {"logprobs", BODY(R"("logprobs":true)"), REFUSED, "", "", "`false` is accepted"},
    {"max_completion_tokens",
     BODY(R"("max_completion_tokens":5)"),
     {F, T, T, T},
     {"/max_completion_tokens", "/max_tokens", "/generationConfig/maxOutputTokens", "/max_tokens"},
     "/max_completion_tokens",
     "",
     "without it (and max_tokens), the tenant's default"},
    {"max_tokens",
     BODY(R"("max_tokens":5)"),
     {T, F, T, F},
     {"/max_completion_tokens", "/max_tokens", "/generationConfig/maxOutputTokens", "/max_tokens"},
     "/max_tokens",
     "",
     "OpenAI gets `max_completion_tokens` (its reasoning models need it)"},
    {"metadata",
     BODY(R"("metadata":{"k":"v"})"),
     {F, R, R, R},
     {"/metadata", "", "", ""},
     "/metadata"},
    {"modalities", BODY(R"("modalities":["text","audio"])"), REFUSED, "", "",
     "`[\"text\"]` is accepted"},
    {"n", BODY(R"("n":2)"), REFUSED, "", "", "1 is accepted"},
    {"parallel_tool_calls",
     BODY(TOOLS R"(,"parallel_tool_calls":false)"),
     {F, T, R, F},
     {"/parallel_tool_calls", "/tool_choice/disable_parallel_tool_use", "", "/parallel_tool_calls"},
     "/parallel_tool_calls",
     "",
     "`true` is accepted everywhere; Anthropic `disable_parallel_tool_use`; Google cannot be "
     "told"},
    {"prediction",
     BODY(R"("prediction":{"type":"content","content":"x"})"),
     {F, R, R, R},
     {"/prediction", "", "", ""},
     "/prediction"},
    {"presence_penalty",
     BODY(R"("presence_penalty":0.5)"),
     {F, R, T, F},
     {"/presence_penalty", "", "/generationConfig/presencePenalty", "/presence_penalty"},
     "/presence_penalty",
     "",
     "0 (the default) is accepted everywhere"},
    {"prompt_cache_key",
     BODY(R"("prompt_cache_key":"k")"),
     {F, R, R, R},
     {"/prompt_cache_key", "", "", ""},
     "/prompt_cache_key"},
    {"prompt_cache_retention",
     BODY(R"("prompt_cache_retention":"24h")"),
     {F, R, R, R},
     {"/prompt_cache_retention", "", "", ""},
     "/prompt_cache_retention"},
    {"reasoning_effort",
     BODY(R"("reasoning_effort":"low")"),
     {F, T, T, R},
     {"/reasoning_effort", "/thinking/budget_tokens",
      "/generationConfig/thinkingConfig/thinkingBudget", ""},
     "/reasoning_effort"},
    {"response_format",
     BODY(
         R"("response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object"}}})"),
     {F, T, T, F},
     {"/response_format", "/tool_choice/name", "/generationConfig/responseSchema",
      "/response_format"},
     "/response_format",
     "",
     "`{\"type\":\"text\"}` is accepted everywhere; see Structured output"},
    {"safety_identifier",
     BODY(R"("safety_identifier":"s")"),
     {F, R, R, R},
     {"/safety_identifier", "", "", ""},
     "/safety_identifier"},
    {"seed",
     BODY(R"("seed":7)"),
     {F, R, T, R},
     {"/seed", "", "/generationConfig/seed", ""},
     "/seed"},
    {"service_tier",
     BODY(R"("service_tier":"flex")"),
     {F, R, R, R},
     {"/service_tier", "", "", ""},
     "/service_tier"},
    {"stop",
     BODY(R"("stop":["END"])"),
     {F, T, T, F},
     {"/stop", "/stop_sequences", "/generationConfig/stopSequences", "/stop"},
     "/stop",
     "",
     "a string or up to 4 strings"},
    {"store",
     BODY(R"("store":true)"),
     {F, R, R, R},
     {"/store", "", "", ""},
     "/store",
     "",
     "`false` is accepted everywhere"},
    {"stream",
     BODY(R"("stream":true)"),
     {F, F, T, F},
     {"/stream", "/stream", "", "/stream"},
     "/stream",
     "",
     "Google: `:streamGenerateContent?alt=sse`"},
    {"stream_options.include_usage",
     BODY(R"("stream":true,"stream_options":{"include_usage":true})"),
     {T, T, T, T},
     {"/stream_options/include_usage", "", "", "/stream_options/include_usage"},
     "",
     "",
     "usage is always asked for; the usage chunk is nyxgate's"},
    {"stream_options.include_obfuscation",
     BODY(R"("stream":true,"stream_options":{"include_obfuscation":true})"), REFUSED, "", "",
     "`false` is accepted (nyxgate writes the chunks)"},
    {"temperature",
     BODY(R"("temperature":0.5)"),
     {F, T, T, F},
     {"/temperature", "/temperature", "/generationConfig/temperature", "/temperature"},
     "/temperature",
     "",
     "0 to 2; Anthropic's is capped at 1"},
    {"tool_choice",
     BODY(TOOLS R"(,"tool_choice":"required")"),
     {F, T, T, F},
     {"/tool_choice", "/tool_choice/type", "/toolConfig/functionCallingConfig/mode",
      "/tool_choice"},
     "/tool_choice",
     "",
     "`\"auto\"` is accepted everywhere; see Tools"},
    {"tools",
     BODY(TOOLS),
     {F, T, T, F},
     {"/tools", "/tools/0/input_schema", "/tools/0/functionDeclarations/0/name", "/tools"},
     "/tools",
     "",
     "`[]` is accepted everywhere; see Tools"},
    {"top_logprobs", BODY(R"("top_logprobs":2)"), REFUSED},
    {"top_p",
     BODY(R"("top_p":0.5)"),
     {F, F, T, F},
     {"/top_p", "/top_p", "/generationConfig/topP", "/top_p"},
     "/top_p"},
    {"user",
     BODY(R"("user":"u-1")"),
     {F, T, R, F},
     {"/user", "/metadata/user_id", "", "/user"},
     "/user"},
    {"verbosity",
     BODY(R"("verbosity":"low")"),
     {F, R, R, R},
     {"/verbosity", "", "", ""},
     "/verbosity"},
    {"web_search_options", BODY(R"("web_search_options":{})"), REFUSED},
    {"any other field",
     BODY(R"("frobnicate":{"level":1})"),
     {F, R, R, F},
     {"/frobnicate", "", "", "/frobnicate"},
     "/frobnicate",
     "frobnicate",
     "forwarded as sent; Anthropic and Google: 400 `unsupported_parameter` naming the provider"},
    // -- per message -------------------------------------------------------------------
    {"messages[].role: system",
     MESSAGES(R"({"role":"system","content":"s"},{"role":"user","content":"hi"})"),
     {F, T, T, F},
     {"/messages/0/role", "/system", "/systemInstruction", "/messages/0/role"},
     "/messages/0/role",
     "",
     "Anthropic `system`, Google `systemInstruction`"},
    {"messages[].role: developer",
     MESSAGES(R"({"role":"developer","content":"s"},{"role":"user","content":"hi"})"),
     {F, T, T, T},
     {"/messages/0/role", "/system", "/systemInstruction", "/messages/0/role"},
     "/messages/0/role",
     "",
     "Kimi gets `system`"},
    {"messages[].role: user, assistant",
     MESSAGES(
         R"({"role":"user","content":"q"},{"role":"assistant","content":"a"},{"role":"user","content":"hi"})"),
     {F, F, T, F},
     {"/messages/1/role", "/messages/1/role", "/contents/1/role", "/messages/1/role"},
     "/messages/1/role",
     "",
     "Google's assistant is `model`; turns of one side are merged"},
    {"messages[].role: tool",
     MESSAGES(CALL_AND_RESULT),
     {F, T, T, F},
     {"/messages/2/role", "/messages/2/content/0/tool_use_id",
      "/contents/2/parts/0/functionResponse/name", "/messages/2/role"},
     "/messages/2/role",
     "",
     "Anthropic `tool_result`, Google `functionResponse`; see Tools"},
    {"messages[].content: string",
     MESSAGES(R"({"role":"user","content":"hi"})"),
     {F, F, T, F},
     {"/messages/0/content", "/messages/0/content", "/contents/0/parts/0/text",
      "/messages/0/content"},
     "/messages/0/content"},
    {"messages[].content: text parts",
     MESSAGES(
         R"({"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]})"),
     {T, T, T, T},
     {"/messages/0/content", "/messages/0/content", "/contents/0/parts/0/text",
      "/messages/0/content"},
     "",
     "",
     "joined with a line break"},
    {"messages[].content: image_url part",
     MESSAGES(
         R"({"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"low"}}]})"),
     {F, T, T, F},
     {"/messages/0/content/1", "/messages/0/content/1/source/url",
      "/contents/0/parts/1/fileData/fileUri", "/messages/0/content/1"},
     "/messages/0/content/1",
     "",
     "user messages only; see Images"},
    {"messages[].content: input_audio part",
     MESSAGES(
         R"({"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}]})"),
     REFUSED, "", "messages[0].content[0]"},
    {"messages[].content: file part",
     MESSAGES(R"({"role":"user","content":[{"type":"file","file":{"file_id":"f1"}}]})"), REFUSED,
     "", "messages[0].content[0]"},
    {"messages[].content: refusal part",
     MESSAGES(
         R"({"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"refusal","refusal":"no"}]})"),
     REFUSED, "", "messages[1].content[0]"},
    {"messages[].name",
     MESSAGES(R"({"role":"user","content":"hi","name":"ann"})"),
     {F, R, R, F},
     {"/messages/0/name", "", "", "/messages/0/name"},
     "/messages/0/name",
     "messages[0].name"},
    {"messages[].tool_calls",
     MESSAGES(CALL_AND_RESULT),
     {F, T, T, F},
     {"/messages/1/tool_calls", "/messages/1/content/0/input",
      "/contents/1/parts/0/functionCall/args", "/messages/1/tool_calls"},
     "/messages/1/tool_calls",
     "",
     "`[]` is accepted; content may be null"},
    {"messages[].tool_call_id",
     MESSAGES(CALL_AND_RESULT),
     {F, T, T, F},
     {"/messages/2/tool_call_id", "/messages/2/content/0/tool_use_id",
      "/contents/2/parts/0/functionResponse/name", "/messages/2/tool_call_id"},
     "/messages/2/tool_call_id",
     "",
     "required in a tool message: the id of an earlier tool call"},
    {"messages[].function_call",
     MESSAGES(
         R"({"role":"user","content":"hi"},{"role":"assistant","content":null,"function_call":{"name":"f","arguments":"{}"}})"),
     REFUSED, "", "messages[1].function_call"},
    {"messages[].refusal",
     MESSAGES(
         R"({"role":"user","content":"hi"},{"role":"assistant","content":"x","refusal":"no"})"),
     REFUSED, "", "messages[1].refusal"},
    {"messages[].audio",
     MESSAGES(
         R"({"role":"user","content":"hi"},{"role":"assistant","content":"x","audio":{"id":"a1"}})"),
     REFUSED, "", "messages[1].audio"},
    {"messages[]: any other field",
     MESSAGES(R"({"role":"user","content":"hi","cache_control":{"type":"ephemeral"}})"), REFUSED,
     "", "messages[0].cache_control", "400 `unknown_parameter`"},
};

#undef BODY
#undef MESSAGES
#undef REFUSED
#undef TOOLS
#undef CALL_AND_RESULT

std::string_view word(how h) {
  return h == F ? "forwarded" : h == T ? "translated" : "refused";
}

std::string error_of(const std::variant<chat_request, request_error>& parsed) {
  const auto* e = std::get_if<request_error>(&parsed);
  return e ? e->message : std::string{};
}

std::string param_of(const param_row& row) {
  return std::string{row.param.empty() ? row.name : row.param};
}

const json::value* at(const json::value& v, std::string_view pointer) {
  boost::system::error_code ec;
  return v.find_pointer(pointer, ec);
}

/// The table as docs/chat-parameters.md shows it.
std::string rendered_table() {
  std::string out = "| parameter | openai | anthropic | google | kimi | notes |\n";
  out += "|---|---|---|---|---|---|\n";
  // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on `"literal" + string`.
  for (const auto& row : rows) {
    out.append("| `").append(row.name).append("` |");
    for (auto h : row.handling) out.append(" ").append(word(h)).append(" |");
    if (row.note.empty())
      out.append(" |\n");
    else
      out.append(" ").append(row.note).append(" |\n");
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(chat_parameters_test)

BOOST_AUTO_TEST_CASE(every_parameter_is_forwarded_translated_or_refused_per_provider) {
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.name) {
      auto request_json = json::parse(row.body);
      auto parsed = parse_chat_request(row.body);
      bool refused_by_all = row.handling == std::array<how, 4>{R, R, R, R};
      if (refused_by_all) {
        // Nothing any provider could take: refused before resolution, naming every provider.
        auto* e = std::get_if<request_error>(&parsed);
        BOOST_REQUIRE(e);
        BOOST_TEST(e->param == param_of(row));
        BOOST_TEST((e->code == "unsupported_parameter" || e->code == "unknown_parameter"));
        if (e->code == "unsupported_parameter")
          for (auto p : providers) BOOST_TEST(e->message.find(p) != std::string::npos, e->message);
        continue;
      }
      auto* req = std::get_if<chat_request>(&parsed);
      BOOST_REQUIRE_MESSAGE(req, error_of(parsed));
      for (std::size_t i = 0; i < providers.size(); ++i) {
        auto provider = providers[i];
        BOOST_TEST_CONTEXT(provider) {
          auto refused = refused_parameter(provider, *req);
          if (row.handling[i] == R) {
            BOOST_REQUIRE(refused);
            BOOST_TEST(refused->param == param_of(row));
            BOOST_TEST(refused->code == "unsupported_parameter");
            BOOST_TEST(refused->message.find(provider) != std::string::npos, refused->message);
            continue;
          }
          BOOST_TEST(!refused);
          auto up = build_upstream_request(provider, "https://up.test", "k", *req, "m-1",
                                           req->max_tokens.value_or(16));
          auto body = json::parse(up.body);
          if (row.lands[i].empty()) continue;
          const auto* sent = at(body, row.lands[i]);
          BOOST_REQUIRE_MESSAGE(sent, row.lands[i] << " missing in " << up.body);
          if (row.handling[i] == F && !row.from.empty()) {
            const auto* asked = at(request_json, row.from);
            BOOST_REQUIRE(asked);
            BOOST_TEST(*sent == *asked, json::serialize(*sent)
                                            << " != " << json::serialize(*asked));
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(values_that_ask_for_the_default_are_accepted_and_change_nothing) {
  const char* const bodies[] = {
      R"("frequency_penalty":0,"presence_penalty":0)",
      R"("logit_bias":{})",
      R"("store":false)",
      R"("response_format":{"type":"text"})",
      R"("logprobs":false)",
      R"("modalities":["text"])",
      R"("n":1)",
      R"("stream_options":{"include_obfuscation":false})",
      R"("tools":null,"tool_choice":null,"seed":null,"audio":null,"user":null,"x":null)",
      R"("tools":[],"tool_choice":"auto","parallel_tool_calls":true)",
      R"("tool_choice":"none","parallel_tool_calls":false)",
  };
  auto plain = std::get<chat_request>(
      parse_chat_request(R"({"model":"m-1","messages":[{"role":"user","content":"hi"}]})"));
  for (const char* extra : bodies) {
    BOOST_TEST_CONTEXT(extra) {
      std::string body = R"({"model":"m-1","messages":[{"role":"user","content":"hi"},)"
                         R"({"role":"assistant","content":"x","tool_calls":[],"refusal":null}],)";
      body += extra;
      body += '}';
      auto parsed = parse_chat_request(body);
      auto* req = std::get_if<chat_request>(&parsed);
      BOOST_REQUIRE_MESSAGE(req, error_of(parsed));
      BOOST_TEST(req->provider_params.empty());
      for (auto p : providers) {
        BOOST_TEST(!refused_parameter(p, *req));
        auto sent =
            json::parse(build_upstream_request(p, "https://up.test", "k", *req, "m", 9).body);
        auto alone =
            json::parse(build_upstream_request(p, "https://up.test", "k", plain, "m", 9).body);
        // Only the second message differs: the call asks for nothing more than without them.
        if (auto* o = sent.as_object().if_contains("messages")) o->as_array().pop_back();
        if (auto* o = sent.as_object().if_contains("contents")) o->as_array().pop_back();
        BOOST_TEST(sent == alone, json::serialize(sent));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_fields_are_refused_below_the_top_level) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"},"x":1}]})",
       "tools[0].x"},
      {R"({"messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true,"x":1}})",
       "stream_options.x"},
      {R"({"messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{}}]}]})",
       "messages[0].content[0].cache_control"},
      {R"({"messages":[{"role":"user","content":"x","":1}]})", "messages[0]."},
  };
  for (const auto& [body, param] : cases) {
    auto parsed = parse_chat_request(body);
    auto* e = std::get_if<request_error>(&parsed);
    BOOST_REQUIRE_MESSAGE(e, body);
    BOOST_TEST(e->param == param);
    BOOST_TEST(e->code == "unknown_parameter");
  }
}

BOOST_AUTO_TEST_CASE(a_chain_refusal_names_the_first_refused_field_and_the_provider) {
  auto req = std::get<chat_request>(parse_chat_request(
      R"({"messages":[{"role":"user","content":"x","name":"ann"}],"seed":1,"user":"u"})"));
  BOOST_TEST(!refused_parameter("openai", req));
  auto anthropic = refused_parameter("anthropic", req);
  BOOST_REQUIRE(anthropic);
  BOOST_TEST(anthropic->param == "messages[0].name");
  BOOST_TEST(anthropic->message == "messages[0].name is not supported by provider anthropic");
  auto kimi = refused_parameter("kimi", req);
  BOOST_REQUIRE(kimi);
  BOOST_TEST(kimi->param == "seed");
}

BOOST_AUTO_TEST_CASE(the_docs_show_this_table) {
  std::ifstream in(NYXGATE_SOURCE_DIR "/docs/chat-parameters.md");
  BOOST_REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  auto doc = text.str();
  constexpr std::string_view begin = "<!-- table: chat_parameters_test -->\n";
  constexpr std::string_view end = "<!-- end of table -->";
  auto from = doc.find(begin);
  auto to = doc.find(end);
  BOOST_REQUIRE(from != std::string::npos && to != std::string::npos && from < to);
  auto table = doc.substr(from + begin.size(), to - from - begin.size());
  auto expected = rendered_table();
  BOOST_TEST(table == expected, "docs/chat-parameters.md should hold:\n" << expected);
}

BOOST_AUTO_TEST_SUITE_END()
