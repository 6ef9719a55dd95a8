// The Beast parser subclasses that fill http_request and outbound_response directly.
#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include "net/http/readers.hpp"

namespace net = nyxgate::net;
namespace http = boost::beast::http;

namespace {

/// Feeds `wire` to `parser` in pieces of `step` bytes (as reads would hand it over); returns
/// the first error other than need_more.
template <class Parser>
boost::system::error_code feed(Parser& parser, std::string_view wire, std::size_t step = 7) {
  std::string pending;
  boost::system::error_code ec;
  for (std::size_t at = 0; at < wire.size() && !parser.is_done();) {
    auto n = std::min(step, wire.size() - at);
    pending.append(wire.substr(at, n));
    at += n;
    auto used = parser.put(boost::asio::buffer(pending), ec);
    pending.erase(0, used);
    if (ec == http::error::need_more) ec = {};
    if (ec) return ec;
  }
  // What is left once all input arrived (a body the last piece completed).
  while (!pending.empty() && !parser.is_done()) {
    auto used = parser.put(boost::asio::buffer(pending), ec);
    pending.erase(0, used);
    if (ec == http::error::need_more) ec = {};
    if (ec || used == 0) break;
  }
  return ec;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_readers_test)

BOOST_AUTO_TEST_CASE(a_request_lands_with_lower_cased_names_in_order) {
  net::detail::request_reader r;
  auto ec = feed(r,
                 "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nX-Request-ID: Abc\r\n"
                 "Content-Type: application/json\r\nX-Dup: 1\r\nx-dup: 2\r\n"
                 "Content-Length: 11\r\n\r\n{\"a\":\"b c\"}");
  BOOST_TEST(!ec, ec.message());
  BOOST_TEST(r.is_done());
  BOOST_TEST(r.req.method == "POST");
  BOOST_TEST(r.req.target == "/v1/chat/completions?x=1");
  BOOST_TEST(r.version == 11u);
  BOOST_TEST(r.req.body == "{\"a\":\"b c\"}");
  BOOST_TEST_REQUIRE(r.req.headers.size() == 6u);
  BOOST_TEST(r.req.headers[1].first == "x-request-id");
  BOOST_TEST(r.req.headers[1].second == "Abc");  // values keep their case
  BOOST_TEST(r.req.header("x-dup") == "1");      // the first of two
  BOOST_TEST(r.req.headers[4].second == "2");
  BOOST_TEST(r.keep_alive());
  BOOST_TEST(!r.transfer_encoding);
  BOOST_TEST(!r.expect_continue);
}

BOOST_AUTO_TEST_CASE(a_chunked_body_is_joined_and_flagged) {
  net::detail::request_reader r;
  auto ec = feed(r,
                 "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\n\r\n",
                 3);
  BOOST_TEST(!ec, ec.message());
  BOOST_TEST(r.is_done());
  BOOST_TEST(r.req.body == "hello world");
  BOOST_TEST(r.transfer_encoding);
  BOOST_TEST(r.chunked());
}

BOOST_AUTO_TEST_CASE(another_transfer_encoding_is_seen_but_not_chunked) {
  net::detail::request_reader r;
  auto ec = feed(r, "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n");
  BOOST_TEST(!ec, ec.message());
  BOOST_TEST(r.is_header_done());
  BOOST_TEST(r.transfer_encoding);
  BOOST_TEST(!r.chunked());
}

BOOST_AUTO_TEST_CASE(only_the_first_expect_field_counts) {
  net::detail::request_reader yes;
  feed(yes,
       "POST /x HTTP/1.1\r\nExpect: 100-Continue\r\nExpect: other\r\nContent-Length: 1\r\n\r\n");
  BOOST_TEST(yes.expect_continue);
  net::detail::request_reader no;
  feed(no,
       "POST /x HTTP/1.1\r\nExpect: other\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
  BOOST_TEST(!no.expect_continue);
}

BOOST_AUTO_TEST_CASE(http_1_0_and_connection_close_end_keep_alive) {
  net::detail::request_reader old;
  feed(old, "GET / HTTP/1.0\r\nHost: a\r\n\r\n");
  BOOST_TEST(old.is_done());
  BOOST_TEST(old.version == 10u);
  BOOST_TEST(!old.keep_alive());
  net::detail::request_reader closing;
  feed(closing, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  BOOST_TEST(!closing.keep_alive());
  net::detail::request_reader upgrade;
  feed(upgrade, "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  BOOST_TEST(upgrade.upgrade());
}

BOOST_AUTO_TEST_CASE(limits_still_apply) {
  net::detail::request_reader big_body;
  big_body.body_limit(50);
  auto ec =
      feed(big_body, "POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'a'));
  BOOST_TEST((ec == http::error::body_limit));
  BOOST_TEST(big_body.req.body.capacity() < 100u);  // nothing reserved for a refused body

  net::detail::request_reader big_chunks;
  big_chunks.body_limit(10);
  ec = feed(big_chunks,
            "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n123456\r\n6\r\n123456\r\n"
            "0\r\n\r\n");
  BOOST_TEST((ec == http::error::body_limit));

  net::detail::request_reader big_head;
  big_head.header_limit(64);
  ec = feed(big_head, "GET / HTTP/1.1\r\nX-Long: " + std::string(100, 'a') + "\r\n\r\n");
  BOOST_TEST((ec == http::error::header_limit));

  net::detail::request_reader smuggled;
  ec = feed(smuggled, "POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
  BOOST_TEST(!!ec);  // conflicting lengths are refused
}

BOOST_AUTO_TEST_CASE(a_response_lands_with_status_headers_and_body) {
  net::detail::response_reader r;
  auto ec = feed(r,
                 "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Type: "
                 "application/json\r\nContent-Length: 9\r\n\r\n{\"e\":\"x\"}");
  BOOST_TEST(!ec, ec.message());
  BOOST_TEST(r.is_done());
  BOOST_TEST(r.out.status == 429u);
  BOOST_TEST(r.out.header("retry-after") == "2");
  BOOST_TEST(r.out.body == "{\"e\":\"x\"}");
  BOOST_TEST(r.keep_alive());

  net::detail::response_reader chunked;
  ec = feed(chunked, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  BOOST_TEST(!ec, ec.message());
  BOOST_TEST(chunked.out.body == "abc");

  net::detail::response_reader head;  // the answer to HEAD: a length, no body
  head.skip(true);
  ec = feed(head, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
  BOOST_TEST(!ec, ec.message());
  BOOST_TEST(head.is_done());
  BOOST_TEST(head.out.body.empty());
}

BOOST_AUTO_TEST_CASE(a_stream_fills_lent_windows_and_asks_for_the_next) {
  net::detail::stream_reader r;
  std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
      "9\r\ndata: 1\n\n\r\n7\r\ndata: 2\r\n0\r\n\r\n";
  boost::system::error_code ec;
  auto used = r.put(boost::asio::buffer(wire), ec);
  BOOST_TEST(!ec, ec.message());
  BOOST_TEST(r.is_header_done());
  BOOST_TEST(r.head.status == 200u);
  BOOST_TEST(r.head.header("content-type") == "text/event-stream");
  wire.erase(0, used);
  // Windows of four bytes: every piece stops at the window's end with need_buffer.
  std::string body;
  for (int guard = 0; guard < 100 && !r.is_done(); ++guard) {
    char window[4];
    r.lend(window, sizeof window);
    used = r.put(boost::asio::buffer(wire), ec);
    wire.erase(0, used);
    BOOST_TEST((!ec || ec == http::error::need_buffer), ec.message());
    body.append(window, sizeof window - r.room());
  }
  BOOST_TEST(r.is_done());
  BOOST_TEST(body == "data: 1\n\ndata: 2");
}

BOOST_AUTO_TEST_CASE(a_stream_without_a_window_takes_nothing) {
  net::detail::stream_reader r;
  std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  boost::system::error_code ec;
  auto used = r.put(boost::asio::buffer(wire), ec);
  wire.erase(0, used);
  used = r.put(boost::asio::buffer(wire), ec);
  BOOST_TEST((ec == http::error::need_buffer));
  BOOST_TEST(used == 0u);
  char window[8];
  r.lend(window, sizeof window);
  used = r.put(boost::asio::buffer(wire), ec);
  BOOST_TEST(!ec, ec.message());
  BOOST_TEST(r.is_done());
  BOOST_TEST(std::string(window, sizeof window - r.room()) == "abc");
}

BOOST_AUTO_TEST_SUITE_END()
