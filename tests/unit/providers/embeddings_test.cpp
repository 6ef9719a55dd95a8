// Embeddings (docs/embeddings.md) as pure functions: the client's request read and refused
// field by field, the answer rendered as floats and as base64 float32s, the chain remapped to
// each provider's embedding model, and the OpenAI and Gemini wire both ways.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "providers/chat.hpp"
#include "providers/embeddings.hpp"

using namespace nyxgate::providers;
namespace json = boost::json;

namespace {

embedding_request parsed(std::string_view body) {
  auto r = parse_embedding_request(body);
  if (auto* e = std::get_if<request_error>(&r)) BOOST_FAIL(std::string{body} + ": " + e->message);
  return std::get<embedding_request>(std::move(r));
}

std::vector<float> decode_base64_floats(std::string_view text) {
  auto value = [](char c) -> std::uint32_t {
    if (c >= 'A' && c <= 'Z') return static_cast<std::uint32_t>(c - 'A');
    if (c >= 'a' && c <= 'z') return static_cast<std::uint32_t>(c - 'a' + 26);
    if (c >= '0' && c <= '9') return static_cast<std::uint32_t>(c - '0' + 52);
    return c == '+' ? 62u : 63u;
  };
  std::string bytes;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    acc = acc << 6 | value(c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  BOOST_REQUIRE(bytes.size() % 4 == 0);
  std::vector<float> out;
  for (std::size_t i = 0; i < bytes.size(); i += 4) {
    std::uint32_t u = 0;
    for (int b = 0; b < 4; ++b)
      u |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + b])) << (8 * b);
    out.push_back(std::bit_cast<float>(u));
  }
  return out;
}

key_record tenant_key(std::string provider) {
  key_record k;
  k.id = provider + "-key";
  k.provider = std::move(provider);
  return k;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(embeddings_test)

BOOST_AUTO_TEST_CASE(a_string_strings_and_token_arrays_are_read) {
  auto one = parsed(R"({"input":"hello","model":"text-embedding-3-small"})");
  BOOST_TEST(one.inputs == std::vector<std::string>{"hello"});
  BOOST_TEST(one.model == "text-embedding-3-small");
  BOOST_TEST(one.input_json == R"("hello")");
  BOOST_TEST(!one.token_input);
  BOOST_TEST(!one.base64);
  BOOST_TEST(!one.dimensions.has_value());

  auto many =
      parsed(R"({"input":["a","b c"],"encoding_format":"base64","dimensions":256,"user":"u-1"})");
  BOOST_TEST(many.inputs == (std::vector<std::string>{"a", "b c"}));
  BOOST_TEST(many.model.empty());
  BOOST_TEST(many.base64);
  BOOST_TEST((many.dimensions == 256));
  BOOST_TEST(many.user == "u-1");

  auto tokens = parsed(R"({"input":[1, 2, 3]})");
  BOOST_TEST(tokens.token_input);
  BOOST_TEST(tokens.inputs.empty());
  BOOST_TEST(tokens.input_json == "[1,2,3]");
  auto arrays = parsed(R"({"input":[[1],[2,3]],"encoding_format":null,"dimensions":null})");
  BOOST_TEST(arrays.token_input);
  BOOST_TEST(arrays.input_json == "[[1],[2,3]]");
}

BOOST_AUTO_TEST_CASE(bad_requests_name_their_parameter) {
  struct row {
    std::string_view body;
    std::string_view param;
    std::string_view code;
  };
  const std::string too_many = [] {
    std::string s = R"({"input":[)";
    for (int i = 0; i < 2049; ++i) s += i ? R"(,"x")" : R"("x")";
    return s + "]}";
  }();
  const row rows[] = {
      {"{", "", "invalid_request"},
      {"[]", "", "invalid_request"},
      {R"({})", "input", "invalid_request"},
      {R"({"input":null})", "input", "invalid_request"},
      {R"({"input":""})", "input", "invalid_request"},
      {R"({"input":[]})", "input", "invalid_request"},
      {R"({"input":3})", "input", "invalid_request"},
      {R"({"input":["a",""]})", "input", "invalid_request"},
      {R"({"input":["a",1]})", "input", "invalid_request"},
      {R"({"input":[1,"a"]})", "input", "invalid_request"},
      {R"({"input":[1,-1]})", "input", "invalid_request"},
      {R"({"input":[1.5]})", "input", "invalid_request"},
      {R"({"input":[[1],[]]})", "input", "invalid_request"},
      {R"({"input":[[1],["a"]]})", "input", "invalid_request"},
      {too_many, "input", "invalid_request"},
      {R"({"input":"a","model":7})", "model", "invalid_request"},
      {R"({"input":"a","model":"a b"})", "model", "invalid_model"},
      {R"({"input":"a","encoding_format":"int8"})", "encoding_format", "invalid_request"},
      {R"({"input":"a","encoding_format":1})", "encoding_format", "invalid_request"},
      {R"({"input":"a","dimensions":0})", "dimensions", "invalid_request"},
      {R"({"input":"a","dimensions":-3})", "dimensions", "invalid_request"},
      {R"({"input":"a","dimensions":2.5})", "dimensions", "invalid_request"},
      {R"({"input":"a","dimensions":"8"})", "dimensions", "invalid_request"},
      {R"({"input":"a","user":1})", "user", "invalid_request"},
      {R"({"input":"a","stream":true})", "stream", "unknown_parameter"},
  };
  for (const auto& r : rows) {
    auto out = parse_embedding_request(r.body);
    BOOST_REQUIRE_MESSAGE(std::holds_alternative<request_error>(out), r.body);
    const auto& e = std::get<request_error>(out);
    BOOST_TEST(e.param == r.param, r.body);
    BOOST_TEST(e.code == r.code, r.body);
    BOOST_TEST(!e.message.empty());
  }
}

BOOST_AUTO_TEST_CASE(floats_render_as_openai_list) {
  embedding_result r;
  r.vectors = {{0.5f, -0.25f, 1e-7f}, {3.0f}};
  r.usage.prompt_tokens = 9;
  auto v = json::parse(render_embeddings(r, "text-embedding-3-small", false)).as_object();
  BOOST_TEST(v.at("object").as_string() == "list");
  BOOST_TEST(v.at("model").as_string() == "text-embedding-3-small");
  BOOST_TEST(v.at("usage").at("prompt_tokens").as_int64() == 9);
  BOOST_TEST(v.at("usage").at("total_tokens").as_int64() == 9);
  const auto& data = v.at("data").as_array();
  BOOST_REQUIRE(data.size() == 2u);
  for (std::size_t i = 0; i < data.size(); ++i) {
    BOOST_TEST(data[i].at("object").as_string() == "embedding");
    BOOST_TEST(data[i].at("index").to_number<std::int64_t>() == static_cast<std::int64_t>(i));
    const auto& values = data[i].at("embedding").as_array();
    BOOST_REQUIRE(values.size() == r.vectors[i].size());
    for (std::size_t j = 0; j < values.size(); ++j)
      BOOST_TEST(static_cast<float>(values[j].to_number<double>()) == r.vectors[i][j]);
  }
}

BOOST_AUTO_TEST_CASE(base64_round_trips_float32s_exactly) {
  embedding_result r;
  r.vectors = {{0.1f, -0.2f, 3.4028235e38f, std::numeric_limits<float>::denorm_min(), -0.0f},
               {1.0f, 2.0f}};
  auto v = json::parse(render_embeddings(r, "m", true));
  const auto& data = v.at("data").as_array();
  for (std::size_t i = 0; i < data.size(); ++i) {
    auto back = decode_base64_floats(data[i].at("embedding").as_string());
    BOOST_REQUIRE(back.size() == r.vectors[i].size());
    for (std::size_t j = 0; j < back.size(); ++j)
      BOOST_TEST(std::bit_cast<std::uint32_t>(back[j]) ==
                 std::bit_cast<std::uint32_t>(r.vectors[i][j]));
  }
  BOOST_TEST(base64_encode("") == "");
  BOOST_TEST(base64_encode("f") == "Zg==");
  BOOST_TEST(base64_encode("fo") == "Zm8=");
  BOOST_TEST(base64_encode("foo") == "Zm9v");
  BOOST_TEST(base64_encode("\xff\xfe") == "//4=");
}

BOOST_AUTO_TEST_CASE(values_json_cannot_hold_render_as_zero) {
  embedding_result r;
  r.vectors = {{std::numeric_limits<float>::infinity(), std::nanf(""), 1.0f}};
  auto v = json::parse(render_embeddings(r, "m\"odel", false));
  BOOST_TEST(v.at("model").as_string() == "m\"odel");
  const auto& values = v.at("data").at(0).at("embedding").as_array();
  BOOST_TEST(values[0].to_number<double>() == 0.0);
  BOOST_TEST(values[1].to_number<double>() == 0.0);
  BOOST_TEST(values[2].to_number<double>() == 1.0);
}

BOOST_AUTO_TEST_CASE(auto_takes_each_providers_embedding_model_and_drops_the_rest) {
  auto openai = tenant_key("openai");
  auto anthropic = tenant_key("anthropic");
  auto google = tenant_key("google");
  chain c;
  c.elements = {{"anthropic", "claude-sonnet-4-5", &anthropic, false},
                {"openai", "gpt-4o-mini", &openai, false},
                {"google", "gemini-2.5-flash", &google, true}};
  auto req = parsed(R"({"input":"x","model":"auto"})");
  auto out = embedding_chain(c, req);
  BOOST_REQUIRE(std::holds_alternative<chain>(out));
  const auto& els = std::get<chain>(out).elements;
  BOOST_REQUIRE(els.size() == 2u);
  BOOST_TEST(els[0].provider == "openai");
  BOOST_TEST(els[0].model == "text-embedding-3-small");
  BOOST_TEST(els[0].key == &openai);
  BOOST_TEST(els[1].provider == "google");
  BOOST_TEST(els[1].model == "gemini-embedding-001");
  BOOST_TEST(els[1].via_fallback);

  auto named = embedding_chain(chain{{{"openai", "text-embedding-3-large", &openai, false}}, {}},
                               parsed(R"({"input":"x","model":"text-embedding-3-large"})"));
  BOOST_TEST(std::get<chain>(named).elements.at(0).model == "text-embedding-3-large");

  BOOST_TEST(std::get<chain>(embedding_chain(chain{}, req)).elements.empty());
}

BOOST_AUTO_TEST_CASE(a_chain_without_embeddings_is_a_400_naming_model) {
  auto anthropic = tenant_key("anthropic");
  auto kimi = tenant_key("kimi");
  chain c;
  c.elements = {{"anthropic", "claude-sonnet-4-5", &anthropic, false},
                {"anthropic", "claude-sonnet-4-5", &anthropic, false},
                {"kimi", "kimi-k2", &kimi, true}};
  auto out = embedding_chain(c, parsed(R"({"input":"x"})"));
  BOOST_REQUIRE(std::holds_alternative<request_error>(out));
  const auto& e = std::get<request_error>(out);
  BOOST_TEST(e.param == "model");
  BOOST_TEST(e.code == "unsupported_parameter");
  BOOST_TEST(e.message.find("provider anthropic, kimi;") != std::string::npos, e.message);
}

BOOST_AUTO_TEST_CASE(token_arrays_go_to_openai_only) {
  auto openai = tenant_key("openai");
  auto google = tenant_key("google");
  auto tokens = parsed(R"({"input":[[1,2]]})");
  BOOST_TEST(std::holds_alternative<chain>(
      embedding_chain(chain{{{"openai", "m", &openai, false}}, {}}, tokens)));
  auto out = embedding_chain(
      chain{{{"openai", "m", &openai, false}, {"google", "m", &google, true}}, {}}, tokens);
  BOOST_REQUIRE(std::holds_alternative<request_error>(out));
  BOOST_TEST(std::get<request_error>(out).param == "input");
  BOOST_TEST(std::get<request_error>(out).message.find("google") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(openai_request_forwards_the_input_verbatim_and_asks_floats) {
  auto req = parsed(R"({"input":[[1, 2],[3]],"encoding_format":"base64","dimensions":64,
                        "user":"u\"1"})");
  auto up = build_embedding_request("openai", "https://api.example/", "sk-1", req,
                                    "text-embedding-3-small");
  BOOST_TEST(up.url == "https://api.example/v1/embeddings");
  BOOST_TEST(
      (up.headers.at(0) == std::pair<std::string, std::string>{"authorization", "Bearer sk-1"}));
  auto body = json::parse(up.body);
  BOOST_TEST(body == json::parse(R"({"model":"text-embedding-3-small","input":[[1,2],[3]],
      "encoding_format":"float","dimensions":64,"user":"u\"1"})"));
  // Kimi shares OpenAI's adapter but serves no embeddings.
  BOOST_TEST(std::holds_alternative<chain>(embedding_chain(chain{}, req)));
}

BOOST_AUTO_TEST_CASE(google_request_is_one_batch_request_per_input) {
  auto req = parsed(R"({"input":["a","b"],"dimensions":8})");
  auto up =
      build_embedding_request("google", "https://g.example", "g-key", req, "gemini-embedding-001");
  BOOST_TEST(up.url == "https://g.example/v1beta/models/gemini-embedding-001:batchEmbedContents");
  BOOST_TEST((up.headers.at(0) == std::pair<std::string, std::string>{"x-goog-api-key", "g-key"}));
  BOOST_TEST(json::parse(up.body) == json::parse(R"({"requests":[
      {"model":"models/gemini-embedding-001","content":{"parts":[{"text":"a"}]},
       "outputDimensionality":8},
      {"model":"models/gemini-embedding-001","content":{"parts":[{"text":"b"}]},
       "outputDimensionality":8}]})"));
  // The model is one encoded path segment.
  auto odd = build_embedding_request("google", "https://g.example", "k", req, "../x");
  BOOST_TEST(odd.url == "https://g.example/v1beta/models/..%2Fx:batchEmbedContents");
}

BOOST_AUTO_TEST_CASE(openai_answers_are_placed_by_index) {
  auto req = parsed(R"({"input":["a","b"]})");
  auto out = parse_embeddings("openai", req, R"({"object":"list","data":[
      {"object":"embedding","index":1,"embedding":[2, 2.5]},
      {"object":"embedding","index":0,"embedding":[1, -1]}],
      "model":"text-embedding-3-small","usage":{"prompt_tokens":2,"total_tokens":2}})");
  BOOST_REQUIRE(std::holds_alternative<chat_completion>(out));
  const auto& c = std::get<chat_completion>(out);
  BOOST_REQUIRE(c.embedding);
  BOOST_TEST((c.embedding->vectors == std::vector<std::vector<float>>{{1, -1}, {2, 2.5f}}));
  BOOST_TEST(c.usage.prompt_tokens == 2);
  BOOST_TEST(c.usage.completion_tokens == 0);
  BOOST_TEST(c.embedding->usage.prompt_tokens == 2);

  for (std::string_view bad : {
           R"({"data":[{"index":0,"embedding":[1]}]})",  // one vector, two inputs
           R"({"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[2]}]})",
           R"({"data":[{"index":0,"embedding":[1]},{"index":2,"embedding":[2]}]})",
           R"({"data":[{"index":0,"embedding":[]},{"index":1,"embedding":[2]}]})",
           R"({"data":[{"index":0,"embedding":"AAAA"},{"index":1,"embedding":[2]}]})",
           R"({"data":[{"index":0,"embedding":[1,"x"]},{"index":1,"embedding":[2]}]})",
           R"({"data":[{"index":99999,"embedding":[1]}]})",
           R"({"data":{}})",
           R"([])",
           "not json",
       })
    BOOST_TEST(
        std::holds_alternative<std::string>(parse_embeddings("openai", req, std::string{bad})),
        bad);
}

BOOST_AUTO_TEST_CASE(google_answers_get_estimated_usage) {
  auto req = parsed(R"({"input":["abcdefgh","x"]})");
  auto out =
      parse_embeddings("google", req, R"({"embeddings":[{"values":[0.5,1]},{"values":[-2,0]}]})");
  BOOST_REQUIRE(std::holds_alternative<chat_completion>(out));
  const auto& c = std::get<chat_completion>(out);
  BOOST_TEST((c.embedding->vectors == std::vector<std::vector<float>>{{0.5f, 1}, {-2, 0}}));
  BOOST_TEST(c.usage.prompt_tokens == 3);  // 9 bytes at four bytes a token, rounded up
  BOOST_TEST(std::holds_alternative<std::string>(
      parse_embeddings("google", req, R"({"embeddings":[{"values":[1]}]})")));
  BOOST_TEST(std::holds_alternative<std::string>(
      parse_embeddings("google", req, R"({"embeddings":[{"values":[1]},{"value":[1]}]})")));
  // Providers without an embeddings API cannot read one.
  BOOST_TEST(std::holds_alternative<std::string>(
      parse_embeddings("anthropic", req, R"({"embeddings":[{"values":[1]},{"values":[1]}]})")));
}

BOOST_AUTO_TEST_SUITE_END()
