// The SSE sink's framing: chunks become `data:` events in order, pieces produced before the
// session hands back its writer wait and go first, a batch of chunks is one write.
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include "api/openai/sse_sink.hpp"

namespace net = nyxgate::net;
namespace api = nyxgate::api;
namespace actors = nyxgate::actors;

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

/// A committed sink and the head it answered with.
struct committed {
  net::http_response head;
  std::shared_ptr<api::sse_sink> sink;

  committed() {
    sink = std::make_shared<api::sse_sink>([this](net::http_response r) { head = std::move(r); });
    sink->commit(actors::served_by{});
  }

  std::shared_ptr<recording_writer> attach() {
    auto w = std::make_shared<recording_writer>();
    head.stream(w);
    return w;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(sse_sink_test)

BOOST_AUTO_TEST_CASE(a_batch_of_chunks_is_one_write_of_events_in_order) {
  committed c;
  BOOST_TEST(c.head.content_type == "text/event-stream");
  auto w = c.attach();
  std::vector<std::string> batch{R"({"n":1})", R"({"n":2})", R"({"n":3})"};
  BOOST_TEST(c.sink->chunks(batch));
  BOOST_REQUIRE(w->writes.size() == 1u);
  BOOST_TEST(w->writes[0] == "data: {\"n\":1}\n\ndata: {\"n\":2}\n\ndata: {\"n\":3}\n\n");
  std::vector<std::string> none;
  BOOST_TEST(c.sink->chunks(none));
  BOOST_TEST(w->writes.size() == 1u);  // nothing to write: no empty write (it would end a body)
}

BOOST_AUTO_TEST_CASE(chunks_before_the_writer_arrive_first_and_a_gone_reader_says_so) {
  committed c;
  std::vector<std::string> early{"1", "2"};
  BOOST_TEST(c.sink->chunk("0"));
  BOOST_TEST(c.sink->chunks(early));
  auto w = c.attach();
  BOOST_TEST(c.sink->chunk("3"));
  std::string all;
  for (const auto& piece : w->writes) all += piece;
  BOOST_TEST(all == "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n");
  w->gone = true;
  std::vector<std::string> late{"4"};
  BOOST_TEST(!c.sink->chunks(late));
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
