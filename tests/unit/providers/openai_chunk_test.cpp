// The one-pass chunk reader against the DOM reader: where the fast one answers it must answer
// as the DOM does, and it must answer for the chunks providers actually send (else every
// stream pays the DOM parse again, and only a benchmark would notice).
#include <boost/test/unit_test.hpp>

#include <variant>

#include "providers/chat.hpp"
#include "providers/detail/openai_chunk.hpp"

using namespace nyxgate::providers::detail;

namespace {

/// Chunks as OpenAI, Kimi and our mock send them: the fast reader must take each.
const char* const usual_chunks[] = {
    R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"obfuscation":"ab12"})",
    R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})",
    R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":0}}})",
    R"({"id":"cmpl-2","object":"chat.completion.chunk","created":1,"model":"kimi-k2","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop","usage":{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}}]})",
    "{\"choices\":[{\"delta\":{\"content\":\"line one\\nline \\\"two\\\"\\t\\\\ \\/\"}}]}",
    "{\"choices\":[{\"delta\":{\"content\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
    "\xe4\xb8\xad\"}}]}",
    " \n{ \"choices\" : [ { \"delta\" : { \"content\" : \"x\" } } ] }\r\n\t",
    R"({"choices":[{"delta":{"content":"a"},"finish_reason":"length"},{"delta":{"content":"b"}}]})",
    R"({"choices":[{"delta":{"content":"first","content":"second"}}],"choices":[]})",
    R"({"choices":null,"usage":{"prompt_tokens":-1,"completion_tokens":"7"}})",
    R"({"choices":[7],"usage":[1,2]})",
    R"({"choices":[{"delta":{"content":5},"finish_reason":false,"usage":{}}]})",
    R"({"choices":[{"delta":"text","usage":{"prompt_tokens":123456789012345678}}],"nested":{"a":[[[{"b":[true,false,null]}]]]}})",
    R"({})",
    R"({"choices":[{"delta":{"content":"x","tool_calls":null}}]})",
    R"({"choices":[{"delta":{"content":"x","tool_calls":[ ]},"finish_reason":null}]})",
    R"({"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":9,"prompt_tokens_details":{"cached_tokens":10,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":3,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}})",
    R"({"choices":[{"delta":{},"finish_reason":"stop","usage":{"prompt_tokens":20,"completion_tokens":2,"cached_tokens":8}}]})",
    R"({"usage":{"prompt_tokens_details":{"cached_tokens":2,"cached_tokens":3},"cached_tokens":5,"prompt_tokens_details":null,"completion_tokens_details":[1]}})",
    R"({"usage":{"prompt_tokens_details":7,"completion_tokens_details":{"reasoning_tokens":"x"}}})",
};

/// Answers holding tool calls: the fast reader leaves them to the DOM.
const char* const tool_call_chunks[] = {
    R"({"id":"chatcmpl-3","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}]})",
    R"({"id":"chatcmpl-3","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"ci"}}]},"logprobs":null,"finish_reason":null}]})",
};

/// Texts the fast reader leaves to the DOM: valid JSON outside its subset, or not JSON.
const char* const declined_texts[] = {
    R"({"error":{"message":"x","type":"server_error"}})",
    R"({"choices":[],"error":null})",
    R"({"choices":[{"delta":{"content":"\u00e9"}}]})",
    R"({"usage":{"prompt_tokens":1.5}})",
    R"({"usage":{"prompt_tokens":1e3}})",
    R"({"usage":{"prompt_tokens":1234567890123456789}})",
    R"({"created":1.0})",
    R"({"cho\/ices":[]})",
    R"([1,2])",
    R"("text")",
    R"({"choices":[{"delta":{"content":"x"}}]} {})",
    R"({"choices":[{"delta":{"content":"x"}}],})",
    R"({"choices":[{"delta":{"content":"x"}},]})",
    R"({"a":01})",
    R"({"a":-})",
    R"({"a":nul})",
    R"({"a":tru})",
    R"({"a" 1})",
    R"({a:1})",
    R"({"a":"\x"})",
    "{\"a\":\"tab\there\"}",
    "{\"a\":\"\xc3\"}",
    "{\"a\":\"\xc0\xaf\"}",
    "{\"a\":\"\xed\xa0\x80\"}",
    "{\"a\":\"\xf4\x90\x80\x80\"}",
    "{\"a\":\"\xff\"}",
    R"({"a":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]})",
    R"({"choices":[{"delta":{"content":"x"})",
    R"({"choices":)",
    "",
};

/// Whole `chat.completion` bodies as OpenAI, Kimi and our mock send them.
const char* const usual_completions[] = {
    R"({
  "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
  "object": "chat.completion",
  "created": 1741570283,
  "model": "gpt-4o-2024-08-06",
  "choices": [
    {
      "index": 0,
      "message": {
        "role": "assistant",
        "content": "The image shows a wooden boardwalk path.",
        "refusal": null,
        "annotations": []
      },
      "logprobs": null,
      "finish_reason": "stop"
    }
  ],
  "usage": {
    "prompt_tokens": 1117,
    "completion_tokens": 46,
    "total_tokens": 1163,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
  },
  "service_tier": "default",
  "system_fingerprint": "fp_fc9f1d7035"
})",
    R"({"id":"cmpl-04ea926191a14749b7f2c7a48a68abc6","object":"chat.completion","created":1698999496,"model":"kimi-k2-0905-preview","choices":[{"index":0,"message":{"role":"assistant","content":"Hello, Li Lei! 1+1 equals 2."},"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":21,"total_tokens":40}})",
    R"({"id":"chatcmpl-mock7","object":"chat.completion","created":1764700000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"mock mock mock "},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}})",
    R"({"id":7,"choices":[{"message":{"content":"x"},"delta":{"content":"not this"}}],"id":"second"})",
};

}  // namespace

BOOST_AUTO_TEST_SUITE(openai_chunk_test)

BOOST_AUTO_TEST_CASE(the_fast_reader_takes_usual_chunks_and_agrees_with_the_dom) {
  for (std::string text : usual_chunks) {
    BOOST_TEST_CONTEXT(text) {
      auto fast = scan_openai_chunk(text);
      auto dom = read_openai_chunk_dom(text);
      BOOST_REQUIRE(fast);
      BOOST_REQUIRE(dom);
      BOOST_TEST(fast->content == dom->content);
      BOOST_TEST(fast->finish_reason == dom->finish_reason);
      BOOST_TEST(fast->has_choice == dom->has_choice);
      BOOST_TEST((fast->usage == dom->usage));
      BOOST_TEST((fast->choice_usage == dom->choice_usage));
      BOOST_TEST((*fast == *dom));
    }
  }
}

BOOST_AUTO_TEST_CASE(the_fast_reader_leaves_the_rest_to_the_dom) {
  for (std::string text : declined_texts) BOOST_TEST(!scan_openai_chunk(text), text);
  for (std::string text : tool_call_chunks) BOOST_TEST(!scan_openai_chunk(text), text);
}

BOOST_AUTO_TEST_CASE(the_dom_reads_tool_call_pieces) {
  auto first = read_openai_chunk_dom(tool_call_chunks[0]);
  BOOST_REQUIRE(first);
  BOOST_TEST(first->content.empty());
  BOOST_REQUIRE(first->tool_calls.size() == 1u);
  BOOST_TEST(first->tool_calls[0].index == 0);
  BOOST_TEST(first->tool_calls[0].id == "call_abc");
  BOOST_TEST(first->tool_calls[0].name == "get_weather");
  BOOST_TEST(first->tool_calls[0].arguments.empty());
  auto later = read_openai_chunk_dom(tool_call_chunks[1]);
  BOOST_REQUIRE(later);
  BOOST_REQUIRE(later->tool_calls.size() == 1u);
  BOOST_TEST(later->tool_calls[0].index == 1);
  BOOST_TEST(later->tool_calls[0].id.empty());
  BOOST_TEST(later->tool_calls[0].arguments == R"({"ci)");
}

BOOST_AUTO_TEST_CASE(usage_details_are_read_by_both_readers) {
  for (auto* text : {usual_chunks[17], usual_chunks[18], usual_chunks[19]}) {
    BOOST_TEST_CONTEXT(text) {
      for (auto reading : {scan_openai_chunk(text), read_openai_chunk_dom(text)}) {
        BOOST_REQUIRE(reading);
        auto usage = reading->usage ? reading->usage : reading->choice_usage;
        BOOST_REQUIRE(usage);
        if (text == usual_chunks[17]) {
          BOOST_TEST(usage->cached_tokens == 10);
          BOOST_TEST(usage->reasoning_tokens == 3);
        } else if (text == usual_chunks[18]) {
          BOOST_TEST(usage->cached_tokens == 8);  // Kimi's own field
          BOOST_TEST(usage->reasoning_tokens == 0);
        } else {
          BOOST_TEST(usage->cached_tokens == 5);  // the larger of the two, each its first
          BOOST_TEST(usage->reasoning_tokens == 0);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_nul_after_the_object_is_not_whitespace) {
  std::string text{"{\"a\":1}\0", 8};
  BOOST_TEST(!scan_openai_chunk(text));
  BOOST_TEST(!read_openai_chunk_dom(text));
}

BOOST_AUTO_TEST_CASE(fields_are_read_as_the_translator_needs_them) {
  auto c = scan_openai_chunk(usual_chunks[4]);
  BOOST_REQUIRE(c);
  BOOST_TEST(c->has_choice);
  BOOST_TEST(c->content == "Hi");
  BOOST_TEST(c->finish_reason == "stop");
  BOOST_REQUIRE(c->choice_usage);
  BOOST_TEST(c->choice_usage->prompt_tokens == 4);
  BOOST_TEST(c->choice_usage->completion_tokens == 1);
  BOOST_TEST(!c->usage);

  auto escaped = scan_openai_chunk(usual_chunks[5]);
  BOOST_REQUIRE(escaped);
  BOOST_TEST(escaped->content == "line one\nline \"two\"\t\\ /");

  auto duplicate = scan_openai_chunk(usual_chunks[9]);
  BOOST_REQUIRE(duplicate);
  BOOST_TEST(duplicate->content == "first");  // the first of duplicate keys, as the DOM

  auto odd = scan_openai_chunk(usual_chunks[10]);
  BOOST_REQUIRE(odd);
  BOOST_TEST(!odd->has_choice);
  BOOST_REQUIRE(odd->usage);
  BOOST_TEST(odd->usage->prompt_tokens == -1);
  BOOST_TEST(odd->usage->completion_tokens == 0);  // a string is no count
}

BOOST_AUTO_TEST_CASE(an_error_chunk_is_flagged_by_the_dom_reader) {
  auto c = read_openai_chunk_dom(declined_texts[0]);
  BOOST_REQUIRE(c);
  BOOST_TEST(c->has_error);
  BOOST_TEST(!read_openai_chunk_dom("{not json"));
}

BOOST_AUTO_TEST_CASE(the_fast_reader_takes_usual_completions_and_agrees_with_the_dom) {
  for (std::string text : usual_completions) {
    BOOST_TEST_CONTEXT(text) {
      auto fast = scan_openai_chunk(text, openai_shape::completion);
      auto dom = read_openai_chunk_dom(text, openai_shape::completion);
      BOOST_REQUIRE(fast);
      BOOST_REQUIRE(dom);
      BOOST_TEST(fast->content == dom->content);
      BOOST_TEST(fast->id == dom->id);
      BOOST_TEST((*fast == *dom));
    }
  }
  for (std::string text : declined_texts)
    BOOST_TEST(!scan_openai_chunk(text, openai_shape::completion), text);
}

BOOST_AUTO_TEST_CASE(a_completion_is_read_from_its_message) {
  auto c = scan_openai_chunk(usual_completions[0], openai_shape::completion);
  BOOST_REQUIRE(c);
  BOOST_TEST(c->id == "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG");
  BOOST_TEST(c->content == "The image shows a wooden boardwalk path.");
  BOOST_TEST(c->finish_reason == "stop");
  BOOST_REQUIRE(c->usage);
  BOOST_TEST(c->usage->prompt_tokens == 1117);
  BOOST_TEST(c->usage->completion_tokens == 46);

  auto odd = scan_openai_chunk(usual_completions[3], openai_shape::completion);
  BOOST_REQUIRE(odd);
  BOOST_TEST(odd->content == "x");  // the message's, not the delta's
  BOOST_TEST(odd->id.empty());      // the first id is a number: no id, as the DOM reads it

  // A chunk's reading takes the delta and leaves the id alone.
  auto as_chunk = scan_openai_chunk(usual_completions[3]);
  BOOST_REQUIRE(as_chunk);
  BOOST_TEST(as_chunk->content == "not this");
  BOOST_TEST(as_chunk->id.empty());
}

BOOST_AUTO_TEST_CASE(parse_completion_reads_the_same_through_either_reader) {
  using nyxgate::providers::chat_completion;
  using nyxgate::providers::parse_completion;
  // The second text holds a `\u` escape, which the one-pass reader leaves to the DOM.
  std::string fast_text =
      "{\"id\":\"c1\",\"choices\":[{\"message\":{\"content\":\"caf\xc3\xa9\"},"
      "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}";
  std::string dom_text =
      R"({"id":"c1","choices":[{"message":{"content":"caf\u00e9"},"finish_reason":"length"}],)"
      R"("usage":{"prompt_tokens":5,"completion_tokens":2}})";
  BOOST_REQUIRE(scan_openai_chunk(fast_text, openai_shape::completion));
  BOOST_REQUIRE(!scan_openai_chunk(dom_text, openai_shape::completion));
  for (const char* provider : {"openai", "kimi"}) {
    auto fast = parse_completion(provider, fast_text);
    auto dom = parse_completion(provider, dom_text);
    BOOST_REQUIRE(std::holds_alternative<chat_completion>(fast));
    BOOST_REQUIRE(std::holds_alternative<chat_completion>(dom));
    for (const auto* c : {&std::get<chat_completion>(fast), &std::get<chat_completion>(dom)}) {
      BOOST_TEST(c->content == "caf\xc3\xa9");
      BOOST_TEST(c->finish_reason == "length");
      BOOST_TEST(c->usage.prompt_tokens == 5);
      BOOST_TEST(c->usage.completion_tokens == 2);
      BOOST_TEST(c->upstream_id == "c1");
    }
  }
  // Tool calls and usage details, through the DOM.
  auto calls = parse_completion(
      "openai",
      R"({"id":"chatcmpl-2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":null,)"
      R"("tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},)"
      R"({"id":"call_2","type":"function","function":{"name":"g","arguments":"{}"}}]},"finish_reason":"tool_calls"}],)"
      R"("usage":{"prompt_tokens":30,"completion_tokens":12,"prompt_tokens_details":{"cached_tokens":16},)"
      R"("completion_tokens_details":{"reasoning_tokens":4}}})");
  BOOST_REQUIRE(std::holds_alternative<chat_completion>(calls));
  const auto& c = std::get<chat_completion>(calls);
  BOOST_TEST(c.content.empty());
  BOOST_TEST(c.finish_reason == "tool_calls");
  BOOST_REQUIRE(c.tool_calls.size() == 2u);
  BOOST_TEST(c.tool_calls[0].id == "call_1");
  BOOST_TEST(c.tool_calls[0].name == "f");
  BOOST_TEST(c.tool_calls[0].arguments == R"({"a":1})");
  BOOST_TEST(c.tool_calls[1].name == "g");
  BOOST_TEST(c.usage.prompt_tokens == 30);
  BOOST_TEST(c.usage.cached_tokens == 16);
  BOOST_TEST(c.usage.completion_tokens == 12);
  BOOST_TEST(c.usage.reasoning_tokens == 4);
  // No choice: the same error either way, and no finish reason made up.
  BOOST_TEST(std::get<std::string>(parse_completion("openai", R"({"choices":[]})")) ==
             "the answer has no choices");
  BOOST_TEST(std::get<std::string>(parse_completion("openai", R"({"choices":[],"x":"\u0041"})")) ==
             "the answer has no choices");
  // A finish reason left out is "stop".
  auto bare = parse_completion("openai", R"({"choices":[{"message":{"content":"y"}}]})");
  BOOST_REQUIRE(std::holds_alternative<chat_completion>(bare));
  BOOST_TEST(std::get<chat_completion>(bare).finish_reason == "stop");
}

BOOST_AUTO_TEST_SUITE_END()
