// The HTTP sink: a stream's content becomes `data:` events in order, pieces produced before
// the session hands back its writer wait and go first, one upstream read's worth of deltas is
// one write; a JSON answer and a failure carry the served headers; the served headers.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include "api/openai/http_sink.hpp"

namespace net = nyxgate::net;
namespace api = nyxgate::api;
namespace actors = nyxgate::actors;
namespace json = boost::json;

namespace {

struct recording_writer final : net::response_writer {
  std::vector<std::string> writes;
  bool finished = false;
  bool gone = false;

  bool write(std::string piece) override {
    if (gone) return false;
    writes.push_back(std::move(piece));
    return true;
  }
  void finish() override { finished = true; }
  std::size_t queued_bytes() const override { return 0; }
  void on_drained(std::function<void()>) override {}
};

/// A sink of request `r1` and the answers it gave.
struct answered {
  std::vector<net::http_response> answers;
  std::shared_ptr<net::disconnect_signal> signal = std::make_shared<net::disconnect_signal>();
  std::shared_ptr<api::http_sink> sink;

  explicit answered(bool stream, bool include_usage = false) {
    sink = std::make_shared<api::http_sink>(
        [this](net::http_response r) { answers.push_back(std::move(r)); }, signal,
        api::http_sink::options{"r1", stream, include_usage});
  }

  std::shared_ptr<recording_writer> attach() {
    auto w = std::make_shared<recording_writer>();
    answers.at(0).stream(w);
    return w;
  }
};

actors::served_by openai() {
  actors::served_by who;
  who.provider = "openai";
  who.model = "gpt-4o-mini";
  who.key_scope = "tenant";
  who.attempts = 1;
  return who;
}

std::string all_of(const recording_writer& w) {
  std::string all;
  for (const auto& piece : w.writes) all += piece;
  return all;
}

/// The `data:` payloads of an SSE body, parsed ([DONE] as the string "[DONE]").
std::vector<json::value> events(const std::string& body) {
  std::vector<json::value> out;
  std::size_t at = 0;
  while ((at = body.find("data: ", at)) != std::string::npos) {
    auto end = body.find("\n\n", at);
    auto data = body.substr(at + 6, end - at - 6);
    out.push_back(data == "[DONE]" ? json::value("[DONE]") : json::parse(data));
    at = end;
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_sink_test)

BOOST_AUTO_TEST_CASE(a_read_of_deltas_is_one_write_of_chunk_events_in_order) {
  answered a{true};
  a.sink->committed(openai());
  BOOST_REQUIRE(a.answers.size() == 1u);
  BOOST_TEST(a.answers[0].content_type == "text/event-stream");
  BOOST_TEST(a.answers[0].head_lines.find("x-nyxgate-provider: openai\r\n") != std::string::npos);
  auto w = a.attach();
  std::vector<actors::content_delta> batch{{"", true, ""}, {"Hel", false, ""}, {"lo", false, ""}};
  BOOST_TEST(a.sink->content(batch));
  BOOST_REQUIRE(w->writes.size() == 1u);
  auto ev = events(w->writes[0]);
  BOOST_REQUIRE(ev.size() == 3u);
  BOOST_TEST(ev[0].at("id").as_string() == "chatcmpl-r1");
  BOOST_TEST(ev[0].at("model").as_string() == "gpt-4o-mini");
  BOOST_TEST(ev[0].at("choices").at(0).at("delta").at("role").as_string() == "assistant");
  BOOST_TEST(ev[1].at("choices").at(0).at("delta").at("content").as_string() == "Hel");
  BOOST_TEST(ev[2].at("choices").at(0).at("delta").at("content").as_string() == "lo");
  BOOST_TEST(ev[2].at("choices").at(0).at("finish_reason").is_null());
  BOOST_TEST(a.sink->content({}));
  BOOST_TEST(w->writes.size() == 1u);  // nothing to write: no empty write (it would end a body)
}

BOOST_AUTO_TEST_CASE(content_before_the_writer_arrives_first_and_a_gone_reader_says_so) {
  answered a{true, true};
  a.sink->committed(openai());
  std::vector<actors::content_delta> early{{"0", true, ""}, {"1", false, ""}};
  BOOST_TEST(a.sink->content(early));
  auto w = a.attach();
  std::vector<actors::content_delta> last{{"", false, "stop"}};
  BOOST_TEST(a.sink->content(last));
  a.sink->done(actors::call_result{"stop", {3, 4}, nullptr});
  BOOST_TEST(w->finished);
  auto ev = events(all_of(*w));
  BOOST_REQUIRE(ev.size() == 5u);
  BOOST_TEST(ev[0].at("choices").at(0).at("delta").at("content").as_string() == "0");
  BOOST_TEST(ev[1].at("choices").at(0).at("delta").at("content").as_string() == "1");
  BOOST_TEST(ev[2].at("choices").at(0).at("finish_reason").as_string() == "stop");
  BOOST_TEST(ev[3].at("usage").at("total_tokens").as_int64() == 7);
  BOOST_TEST(ev[4].as_string() == "[DONE]");
  w->gone = true;
  BOOST_TEST(!a.sink->content(last));
}

BOOST_AUTO_TEST_CASE(a_broken_stream_ends_with_an_error_event_and_no_done) {
  answered a{true};
  a.sink->committed(openai());
  auto w = a.attach();
  actors::call_failure f;
  f.error = actors::call_error::stream_interrupted;
  f.message = "the upstream stream broke: reset";
  a.sink->failed(f);
  BOOST_TEST(w->finished);
  BOOST_TEST(all_of(*w) ==
             "data: {\"error\":{\"message\":\"the upstream stream broke: reset\","
             "\"type\":\"upstream_error\",\"code\":\"stream_interrupted\",\"param\":null}}\n\n");
  BOOST_TEST(a.answers.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_json_answer_is_the_completion_with_the_served_headers) {
  answered a{false};
  a.sink->committed(openai());
  BOOST_TEST(a.answers.empty());  // the head goes out with the body
  nyxgate::providers::chat_completion c;
  c.content = "hi";
  c.finish_reason = "length";
  c.usage = {5, 6};
  a.sink->done(actors::call_result{c.finish_reason, c.usage, &c});
  BOOST_REQUIRE(a.answers.size() == 1u);
  BOOST_TEST(a.answers[0].status == 200u);
  BOOST_TEST(a.answers[0].head_lines.find("x-nyxgate-model: gpt-4o-mini\r\n") != std::string::npos);
  auto body = json::parse(a.answers[0].body);
  BOOST_TEST(body.at("id").as_string() == "chatcmpl-r1");
  BOOST_TEST(body.at("model").as_string() == "gpt-4o-mini");
  BOOST_TEST(body.at("choices").at(0).at("message").at("content").as_string() == "hi");
  BOOST_TEST(body.at("usage").at("total_tokens").as_int64() == 11);
}

BOOST_AUTO_TEST_CASE(a_failure_before_the_commit_is_an_error_answer_even_for_a_stream) {
  answered a{true};
  actors::call_failure f;
  f.error = actors::call_error::upstream_failed;
  f.status = 502;
  f.message = "every provider attempt failed; see error.attempts";
  f.attempts = {{"openai", "tenant", 503, "HTTP 503"}, {"anthropic", "personal", 0, "timeout"}};
  f.who.attempts = 2;
  a.sink->failed(f);
  BOOST_REQUIRE(a.answers.size() == 1u);
  BOOST_TEST(a.answers[0].status == 502u);
  BOOST_TEST(!a.answers[0].stream);
  BOOST_TEST(a.answers[0].head_lines.find("x-nyxgate-attempts: 2\r\n") != std::string::npos);
  auto e = json::parse(a.answers[0].body).at("error");
  BOOST_TEST(e.at("code").as_string() == "upstream_failed");
  BOOST_TEST(e.at("type").as_string() == "upstream_error");
  BOOST_TEST(e.at("attempts").as_array().size() == 2u);
  BOOST_TEST(e.at("attempts").at(1).at("reason").as_string() == "timeout");
  BOOST_TEST(e.as_object().if_contains("status") == nullptr);  // the status line says it
}

BOOST_AUTO_TEST_CASE(the_disconnect_signal_becomes_a_typed_stop) {
  for (auto cause : {net::disconnect_cause::client_gone, net::disconnect_cause::server_stopping}) {
    answered a{true};
    std::vector<actors::call_stop> stops;
    a.sink->on_stop([&stops](actors::call_stop why) { stops.push_back(why); });
    a.signal->fire(cause);
    a.signal->fire(net::disconnect_cause::client_gone);  // fires once
    BOOST_REQUIRE(stops.size() == 1u);
    BOOST_TEST((stops[0] == (cause == net::disconnect_cause::client_gone
                                 ? actors::call_stop::client_gone
                                 : actors::call_stop::server_stopping)));
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(served_headers_test)

BOOST_AUTO_TEST_CASE(served_by_becomes_header_lines) {
  actors::served_by who;
  who.provider = "openai";
  who.model = "gpt-4o-mini";
  who.key_scope = "tenant";
  who.fallback = true;
  who.attempts = 2;
  who.overhead_us = 1234;
  net::http_response out;
  api::add_served_headers(who, out);
  BOOST_TEST(out.head_lines ==
             "x-nyxgate-provider: openai\r\nx-nyxgate-model: gpt-4o-mini\r\n"
             "x-nyxgate-key-scope: tenant\r\nx-nyxgate-fallback: true\r\n"
             "x-nyxgate-attempts: 2\r\nx-nyxgate-overhead-us: 1234\r\n");
}

BOOST_AUTO_TEST_CASE(a_model_name_with_a_line_break_is_left_out) {
  // The model can come from the client's body; a CR or LF in it must not split the head.
  actors::served_by who;
  who.provider = "openai";
  who.model = "evil\r\nSet-Cookie: a=b";
  who.key_scope = "personal";
  net::http_response out;
  api::add_served_headers(who, out);
  BOOST_TEST(out.head_lines.find("Set-Cookie") == std::string::npos);
  BOOST_TEST(out.head_lines.find("x-nyxgate-model") == std::string::npos);
  BOOST_TEST(out.head_lines.find("x-nyxgate-key-scope: personal\r\n") != std::string::npos);
  BOOST_TEST(out.head_lines.find("x-nyxgate-attempts: 0\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_provider_means_only_the_counts) {
  net::http_response out;
  api::add_served_headers(actors::served_by{}, out);
  BOOST_TEST(out.head_lines == "x-nyxgate-attempts: 0\r\nx-nyxgate-overhead-us: 0\r\n");
}

BOOST_AUTO_TEST_SUITE_END()
