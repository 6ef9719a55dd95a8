// The Beast server on a real socket: keep-alive, request ids, limits and timeouts, the
// connection cap, answers from other threads, and draining on shutdown. Raw bytes over plain
// Asio sockets, so no client library hides what the server does; every read has a deadline,
// so a misbehaving server fails a test instead of hanging it.
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include "identity/token.hpp"
#include "net/http/server.hpp"
#include "runtime/io_runtime.hpp"
#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"

using namespace nyxgate;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

net::server_limits small_limits() {
  net::server_limits l;
  l.max_body_bytes = 1024;
  l.max_header_bytes = 2048;
  l.max_url_bytes = 512;
  l.header_timeout = 500ms;
  l.idle_timeout = 2s;
  l.max_connections = 20;
  return l;
}

/// A server whose handler echoes the request as JSON. Special paths: /thread answers from
/// another thread after 50 ms, /slow after 200 ms, /never parks the answer, /twice answers twice,
/// /stream answers with a stream (SSE) whose writer the test drives, /where answers with the
/// index of the I/O shard that handled it. Connections are spread over the shards, as in
/// `nyxgate serve`.
struct server_env {
  runtime::io_runtime io{2};
  std::shared_ptr<net::http_server> server;
  std::atomic<int> received{0};
  std::mutex mutex;
  std::vector<std::thread> responders;
  std::vector<net::respond_fn> parked;
  std::vector<std::shared_ptr<net::response_writer>> writers;    ///< of /stream, in order
  std::vector<std::shared_ptr<net::disconnect_signal>> signals;  ///< of every request, in order

  explicit server_env(net::server_limits limits = small_limits()) {
    server = net::http_server::create(
        io.context(), "127.0.0.1:0", limits,
        [this](net::http_request req, net::respond_fn respond) { handle(req, respond); },
        nyxgate::identity::new_request_id, io.shards());
    server->start();
    io.start();
  }

  ~server_env() {
    join_responders();
    {
      std::lock_guard lock(mutex);
      writers.clear();
    }
    std::promise<void> done;
    server->shutdown(500ms, [&] { done.set_value(); });
    done.get_future().wait_for(5s);
    io.stop();
    io.join();
  }

  void handle(const net::http_request& req, const net::respond_fn& respond) {
    ++received;
    net::http_response r;
    r.body = R"({"method":")";
    telemetry::append_json_escaped(r.body, req.method);
    r.body += R"(","target":")";
    telemetry::append_json_escaped(r.body, req.target);
    r.body += R"(","body":")";
    telemetry::append_json_escaped(r.body, req.body);
    r.body += R"(","request_id":")" + req.request_id + R"("})";
    std::string path = req.target.substr(0, req.target.find('?'));
    std::lock_guard lock(mutex);
    signals.push_back(req.disconnected);
    if (path == "/where") {
      auto shards = io.shards();
      auto at = std::find(shards.begin(), shards.end(), runtime::current_context());
      r.body = std::to_string(at - shards.begin());  // shards.size() when on no shard
      respond(r);
    } else if (path == "/stream") {
      net::http_response s;
      s.content_type = "text/event-stream";
      s.headers.emplace_back("cache-control", "no-cache");
      s.route = telemetry::route_kind::data_plane;
      s.stream = [this](std::shared_ptr<net::response_writer> w) {
        std::lock_guard lock(mutex);
        writers.push_back(std::move(w));
      };
      respond(std::move(s));
    } else if (path == "/thread" || path == "/slow") {
      auto delay = path == "/thread" ? 50ms : 200ms;
      responders.emplace_back([respond, r, delay] {
        std::this_thread::sleep_for(delay);
        respond(r);
      });
    } else if (path == "/big") {  // ?n=BYTES of a repeating pattern
      auto n = std::stoul(req.target.substr(req.target.find("n=") + 2));
      r.body.resize(n);
      for (std::size_t i = 0; i < n; ++i) r.body[i] = static_cast<char>('a' + i % 23);
      respond(r);
    } else if (path == "/never") {
      parked.push_back(respond);
    } else if (path == "/twice") {
      auto second = r;
      second.status = 500;
      second.body = "second";
      respond(r);
      respond(second);
    } else {
      respond(r);
    }
  }

  void join_responders() {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex);
      threads.swap(responders);
    }
    for (auto& t : threads) t.join();
  }

  /// The writer of the `i`-th /stream request, once it is there (null after 2 s).
  std::shared_ptr<net::response_writer> writer(std::size_t i = 0) {
    std::shared_ptr<net::response_writer> w;
    eventually([&] {
      std::lock_guard lock(mutex);
      if (writers.size() > i) w = writers[i];
      return w != nullptr;
    });
    return w;
  }

  /// The disconnect signal of the `i`-th request, once it is there (null after 2 s).
  std::shared_ptr<net::disconnect_signal> signal(std::size_t i = 0) {
    std::shared_ptr<net::disconnect_signal> s;
    eventually([&] {
      std::lock_guard lock(mutex);
      if (signals.size() > i) s = signals[i];
      return s != nullptr;
    });
    return s;
  }

  /// Polls until `pred` holds or `timeout` passes.
  template <class Pred>
  static bool eventually(Pred pred, std::chrono::milliseconds timeout = 2s) {
    auto deadline = clock_type::now() + timeout;
    while (!pred()) {
      if (clock_type::now() >= deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }
};

struct http_reply {
  int status = 0;  ///< 0: nothing complete arrived (closed or timed out)
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

class client {
 public:
  /// `receive_buffer` > 0 shrinks the socket's receive buffer (and so the TCP window).
  explicit client(unsigned short port, int receive_buffer = 0) {
    socket_.open(tcp::v4());
    if (receive_buffer > 0)
      socket_.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  void send(std::string_view bytes) {
    error_code ignored;  // the server may have closed already; the reply tells
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ignored);
  }

  /// Reads one response (with a Content-Length body).
  http_reply read(std::chrono::milliseconds timeout = 3s) {
    auto deadline = clock_type::now() + timeout;
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
      if (!read_more(deadline)) return {};
    http_reply reply = parse_head(buffer_.substr(0, end));
    if (reply.status == 0) return {};
    std::size_t length = 0;
    if (auto cl = reply.header("content-length"); !cl.empty()) length = std::stoul(cl);
    while (buffer_.size() < end + 4 + length)
      if (!read_more(deadline)) return {};
    reply.body = buffer_.substr(end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return reply;
  }

  /// Reads a streamed response's head (no body): status 0 if none arrived.
  http_reply read_head(std::chrono::milliseconds timeout = 3s) {
    auto deadline = clock_type::now() + timeout;
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
      if (!read_more(deadline)) return {};
    http_reply reply = parse_head(buffer_.substr(0, end));
    buffer_.erase(0, end + 4);
    return reply;
  }

  /// Decodes chunked body bytes into `body` until `enough(body)` holds or the last chunk came
  /// (then `ended`). False on close, malformed framing or timeout.
  template <class Pred>
  bool read_chunks_until(Pred enough, std::chrono::milliseconds timeout = 3s) {
    auto deadline = clock_type::now() + timeout;
    for (;;) {
      if (!decode_chunks()) return false;
      if (ended || enough(body)) return true;
      if (!read_more(deadline)) return false;
    }
  }

  /// Reads until the body's last chunk.
  bool read_to_end(std::chrono::milliseconds timeout = 3s) {
    return read_chunks_until([](const std::string&) { return false; }, timeout);
  }

  std::string body;    ///< decoded body of the current stream
  bool ended = false;  ///< its last chunk arrived
  std::size_t chunks = 0;

  /// Everything that arrives until the server closes the connection ("" after the timeout).
  std::string read_until_close(std::chrono::milliseconds timeout = 3s) {
    auto deadline = clock_type::now() + timeout;
    error_code ec;
    while (read_more(deadline, &ec)) {
    }
    if (ec != asio::error::eof && ec != asio::error::connection_reset) return {};
    return std::exchange(buffer_, {});
  }

  /// True when the server closes the connection (without sending more) within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout) {
    if (!buffer_.empty()) return false;
    error_code ec;
    bool got = read_more(clock_type::now() + timeout, &ec);
    return !got && (ec == asio::error::eof || ec == asio::error::connection_reset);
  }

  std::size_t available() {
    error_code ec;
    return buffer_.size() + socket_.available(ec);
  }

  tcp::socket& socket() { return socket_; }

 private:
  static http_reply parse_head(const std::string& head) {
    http_reply reply;
    if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12) return {};
    reply.status = std::stoi(head.substr(9, 3));
    for (auto at = head.find("\r\n"); at != std::string::npos;) {
      auto next = head.find("\r\n", at + 2);
      auto line = head.substr(at + 2, next == std::string::npos ? next : next - at - 2);
      auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      reply.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      at = next;
    }
    return reply;
  }

  /// Moves every complete chunk from the buffer into `body`; false on malformed framing.
  bool decode_chunks() {
    while (!ended) {
      auto line_end = buffer_.find("\r\n");
      if (line_end == std::string::npos) return true;
      std::size_t size = 0;
      auto line = buffer_.substr(0, line_end);
      if (line.empty() || line.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        return false;
      size = std::stoul(line, nullptr, 16);
      if (size == 0) {
        if (buffer_.size() < line_end + 4) return true;
        if (buffer_.compare(line_end, 4, "\r\n\r\n") != 0) return false;
        buffer_.erase(0, line_end + 4);
        ended = true;
        return true;
      }
      if (buffer_.size() < line_end + 2 + size + 2) return true;
      if (buffer_.compare(line_end + 2 + size, 2, "\r\n") != 0) return false;
      body.append(buffer_, line_end + 2, size);
      buffer_.erase(0, line_end + 2 + size + 2);
      ++chunks;
    }
    return true;
  }

  /// Appends what arrives before `deadline`; false on close, error or timeout.
  bool read_more(clock_type::time_point deadline, error_code* out = nullptr) {
    char chunk[65536];
    error_code result = asio::error::timed_out;
    std::size_t got = 0;
    bool done = false;
    socket_.async_read_some(asio::buffer(chunk), [&](error_code ec, std::size_t n) {
      result = ec;
      got = n;
      done = true;
    });
    ctx_.restart();
    ctx_.run_until(deadline);
    if (!done) {
      socket_.cancel();
      ctx_.restart();
      ctx_.run();
      result = asio::error::timed_out;
    }
    if (out) *out = result;
    buffer_.append(chunk, got);
    return !result && got > 0;
  }

  asio::io_context ctx_;
  tcp::socket socket_{ctx_};
  std::string buffer_;
};

std::string get(const std::string& target, const std::string& extra = {}) {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

std::string post(const std::string& target, const std::string& body) {
  return "POST " + target +
         " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         body;
}

/// Milliseconds, as a number Boost.Test can print.
long long ms(clock_type::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

bool is_generated_request_id(const std::string& id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

/// Sends `bytes` on a fresh connection; the reply, which must close the connection.
http_reply one_shot(unsigned short port, const std::string& bytes) {
  client c(port);
  c.send(bytes);
  auto r = c.read();
  BOOST_TEST(r.header("connection") == "close");
  BOOST_TEST(c.closed_within(1s));
  return r;
}

bool is_error_json(const http_reply& r, const std::string& code) {
  return r.header("content-type") == "application/json" &&
         r.body.find(R"({"error":{"message":")") == 0 &&
         r.body.find(R"("type":"invalid_request_error")") != std::string::npos &&
         r.body.find(R"("code":")" + code + "\"") != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_server_test)

BOOST_AUTO_TEST_CASE(simple_get_answers_200_with_a_generated_request_id) {
  server_env env;
  client c(env.server->port());
  c.send(get("/hello?x=1"));
  auto r = c.read();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.header("server") == "nyxgate");
  BOOST_TEST(r.header("content-type") == "application/json");
  BOOST_TEST(is_generated_request_id(r.header("x-request-id")));
  BOOST_TEST(r.body.find(R"("method":"GET","target":"/hello?x=1")") != std::string::npos);
  BOOST_TEST(r.body.find(r.header("x-request-id")) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(connections_are_spread_over_the_shards_and_stay_on_theirs) {
  server_env env;
  std::set<std::string> used;
  for (int i = 0; i < 4; ++i) {
    client c(env.server->port());
    std::set<std::string> seen;
    for (int k = 0; k < 3; ++k) {
      c.send(get("/where"));
      seen.insert(c.read().body);
    }
    BOOST_TEST(seen.size() == 1u);  // a connection keeps its shard
    BOOST_TEST((*seen.begin() == "0" || *seen.begin() == "1"), *seen.begin());
    used.insert(*seen.begin());
  }
  BOOST_TEST(used.size() == 2u);  // in turn: both shards serve
}

BOOST_AUTO_TEST_CASE(keep_alive_serves_two_requests_on_one_connection) {
  server_env env;
  client c(env.server->port());
  c.send(get("/a"));
  auto first = c.read();
  c.send(get("/b"));
  auto second = c.read();
  BOOST_TEST(first.status == 200);
  BOOST_TEST(first.body.find(R"("target":"/a")") != std::string::npos);
  BOOST_TEST(second.status == 200);
  BOOST_TEST(second.body.find(R"("target":"/b")") != std::string::npos);
  BOOST_TEST(first.header("x-request-id") != second.header("x-request-id"));
  BOOST_TEST(env.server->open_connections() == 1u);
}

BOOST_AUTO_TEST_CASE(an_answer_larger_than_the_socket_buffers_arrives_whole) {
  server_env env;
  // A small window: the answer is written partly at once, the rest as the client reads.
  client c(env.server->port(), 4096);
  for (std::size_t n : {std::size_t{100}, std::size_t{3} << 20}) {
    c.send(get("/big?n=" + std::to_string(n)));
    auto r = c.read();
    BOOST_TEST(r.status == 200);
    BOOST_REQUIRE(r.body.size() == n);
    bool intact = true;
    for (std::size_t i = 0; i < n; ++i)
      intact = intact && r.body[i] == static_cast<char>('a' + i % 23);
    BOOST_TEST(intact);
  }
  c.send(get("/a"));  // the connection goes on after it
  BOOST_TEST(c.read().body.find(R"("target":"/a")") != std::string::npos);
  BOOST_TEST(env.server->open_connections() == 1u);
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
  server_env env;
  client c(env.server->port());
  c.send(get("/thread") + get("/second"));
  auto first = c.read();
  auto second = c.read();
  BOOST_TEST(first.body.find(R"("target":"/thread")") != std::string::npos);
  BOOST_TEST(second.body.find(R"("target":"/second")") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(http_1_0_without_keep_alive_closes_after_the_answer) {
  server_env env;
  client c(env.server->port());
  c.send("GET /old HTTP/1.0\r\n\r\n");
  auto r = c.read();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(c.closed_within(1s));
}

BOOST_AUTO_TEST_CASE(a_sane_client_request_id_is_kept_and_a_bad_one_replaced) {
  server_env env;
  client c(env.server->port());
  c.send(get("/", "X-Request-Id: abc-123_4.5\r\n"));
  BOOST_TEST(c.read().header("x-request-id") == "abc-123_4.5");
  for (std::string bad : std::vector<std::string>{"<script>", "a b", std::string(65, 'a')}) {
    c.send(get("/", "X-Request-Id: " + bad + "\r\n"));
    auto r = c.read();
    BOOST_TEST(is_generated_request_id(r.header("x-request-id")), bad);
    BOOST_TEST(r.body.find(bad) == std::string::npos);
  }
  c.send(get("/", "X-Request-Id: " + std::string(64, 'z') + "\r\n"));
  BOOST_TEST(c.read().header("x-request-id") == std::string(64, 'z'));
}

BOOST_AUTO_TEST_CASE(post_body_is_echoed) {
  server_env env;
  client c(env.server->port());
  c.send(post("/echo", "hello \"world\""));
  auto r = c.read();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find(R"("method":"POST")") != std::string::npos);
  BOOST_TEST(r.body.find(R"("body":"hello \"world\"")") != std::string::npos);
  // A body of exactly the limit is fine.
  c.send(post("/echo", std::string(1024, 'b')));
  BOOST_TEST(c.read().status == 200);
}

BOOST_AUTO_TEST_CASE(large_bodies_arrive_whole_and_the_connection_goes_on) {
  auto limits = small_limits();
  limits.max_body_bytes = 1 << 20;
  server_env env{limits};
  client c(env.server->port());
  // Beyond one read's room (64 KiB), then a small one on the same connection, then by chunks.
  for (std::size_t n : {std::size_t{200'000}, std::size_t{10}, std::size_t{70'000}}) {
    std::string body(n, 'x');
    for (std::size_t i = 0; i < n; ++i) body[i] = static_cast<char>('a' + i % 19);
    c.send(post("/echo", body));
    auto r = c.read();
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body.find(R"("body":")" + body + R"(")") != std::string::npos);
  }
  std::string chunked = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string expected;
  for (int i = 0; i < 40; ++i) {
    std::string piece(3000, static_cast<char>('a' + i % 26));
    chunked += "bb8\r\n" + piece + "\r\n";
    expected += piece;
  }
  c.send(chunked + "0\r\n\r\n");
  auto r = c.read();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find(R"("body":")" + expected + R"(")") != std::string::npos);
  BOOST_TEST(env.server->open_connections() == 1u);
}

BOOST_AUTO_TEST_CASE(expect_100_continue_is_honoured) {
  server_env env;
  client c(env.server->port());
  c.send("POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.read(1s);
  BOOST_TEST(interim.status == 100);
  c.send("ping");
  auto r = c.read();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find(R"("body":"ping")") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(oversize_body_gets_413_by_content_length_and_when_chunked) {
  server_env env;
  auto port = env.server->port();
  auto up_front = one_shot(port, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n");
  BOOST_TEST(up_front.status == 413);
  BOOST_TEST(is_error_json(up_front, "body_too_large"));
  auto chunked = one_shot(port, "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                    std::string("300\r\n") + std::string(0x300, 'x') + "\r\n" +
                                    "300\r\n" + std::string(0x300, 'x') + "\r\n0\r\n\r\n");
  BOOST_TEST(chunked.status == 413);
  BOOST_TEST(is_error_json(chunked, "body_too_large"));
  BOOST_TEST(env.received == 0);
}

BOOST_AUTO_TEST_CASE(oversize_header_gets_431) {
  server_env env;
  auto r = one_shot(env.server->port(), get("/", "X-Big: " + std::string(4096, 'y') + "\r\n"));
  BOOST_TEST(r.status == 431);
  BOOST_TEST(is_error_json(r, "header_too_large"));
}

BOOST_AUTO_TEST_CASE(long_url_gets_414) {
  server_env env;
  auto r = one_shot(env.server->port(), get("/" + std::string(600, 'u')));
  BOOST_TEST(r.status == 414);
  BOOST_TEST(is_error_json(r, "url_too_long"));
  BOOST_TEST(env.received == 0);
}

BOOST_AUTO_TEST_CASE(malformed_requests_get_400) {
  server_env env;
  for (std::string bad :
       std::vector<std::string>{"HELLO THERE\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                                "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
                                "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
                                "Content-Length: 2\r\n\r\nab",
                                "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                                "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "zz\r\n"}) {
    auto r = one_shot(env.server->port(), bad);
    BOOST_TEST(r.status == 400, bad);
    BOOST_TEST(is_error_json(r, "bad_request"));
    BOOST_TEST(is_generated_request_id(r.header("x-request-id")));
  }
  BOOST_TEST(env.received == 0);
}

BOOST_AUTO_TEST_CASE(an_unsupported_transfer_encoding_gets_501) {
  server_env env;
  auto r = one_shot(env.server->port(),
                    "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\nxyz");
  BOOST_TEST(r.status == 501);
  BOOST_TEST(is_error_json(r, "unsupported_transfer_encoding"));
  BOOST_TEST(env.received == 0);
}

BOOST_AUTO_TEST_CASE(slowloris_gets_408_while_others_are_served_quickly) {
  server_env env;
  auto port = env.server->port();
  auto timeouts_before = telemetry::metrics().http_timeouts.value();
  client slow(port);
  auto started = clock_type::now();
  std::atomic<bool> slow_done{false};
  clock_type::duration answered_after{};
  // Trickles a byte every 50 ms: a header that never completes must not keep the slot.
  std::thread trickle([&] {
    slow.send("GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ");
    pollfd p{slow.socket().native_handle(), POLLIN, 0};
    while (clock_type::now() - started < 3s) {
      if (::poll(&p, 1, 50) > 0) {
        answered_after = clock_type::now() - started;
        break;
      }
      slow.send("a");
    }
    slow_done = true;
  });

  client good(port);
  std::vector<clock_type::duration> latencies;
  while (!slow_done) {
    auto t0 = clock_type::now();
    good.send(get("/fast"));
    auto r = good.read(1s);
    latencies.push_back(clock_type::now() - t0);
    BOOST_TEST(r.status == 200);
    if (r.status != 200) break;
    std::this_thread::sleep_for(10ms);
  }
  trickle.join();

  auto r = slow.read(1s);
  BOOST_TEST(r.status == 408);
  BOOST_TEST(is_error_json(r, "request_timeout"));
  BOOST_TEST(slow.closed_within(1s));
  BOOST_TEST(ms(answered_after) >= 450);
  BOOST_TEST(ms(answered_after) < 1200);
  BOOST_TEST(telemetry::metrics().http_timeouts.value() > timeouts_before);
  BOOST_REQUIRE(latencies.size() >= 5u);
  std::sort(latencies.begin(), latencies.end());
  BOOST_TEST(ms(latencies[latencies.size() / 2]) < 50);
  BOOST_TEST(ms(latencies.back()) < 250);
}

BOOST_AUTO_TEST_CASE(a_connection_that_sends_nothing_is_dropped_after_the_header_timeout) {
  server_env env;
  client c(env.server->port());
  auto t0 = clock_type::now();
  auto r = c.read(2s);
  BOOST_TEST(r.status == 408);
  BOOST_TEST(c.closed_within(1s));
  BOOST_TEST(ms(clock_type::now() - t0) < 1500);
}

BOOST_AUTO_TEST_CASE(idle_keep_alive_connection_is_closed_silently) {
  auto limits = small_limits();
  limits.idle_timeout = 200ms;
  server_env env(limits);
  client c(env.server->port());
  c.send(get("/"));
  BOOST_TEST(c.read().status == 200);
  auto t0 = clock_type::now();
  BOOST_TEST(c.closed_within(2s));
  auto waited = clock_type::now() - t0;
  BOOST_TEST(ms(waited) >= 150);
  BOOST_TEST(ms(waited) < 1000);
}

BOOST_AUTO_TEST_CASE(over_the_connection_cap_new_clients_get_503) {
  server_env env;
  auto port = env.server->port();
  auto rejected_before = telemetry::metrics().http_rejected_connections.value();
  std::vector<std::unique_ptr<client>> clients;
  for (int i = 0; i < 25; ++i) clients.push_back(std::make_unique<client>(port));
  // Refusals are written at once; the others wait (under the 500 ms header timeout).
  auto answered = [&] {
    return std::count_if(clients.begin(), clients.end(),
                         [](auto& c) { return c->available() > 0; });
  };
  BOOST_TEST(server_env::eventually([&] { return answered() >= 5; }, 300ms));
  std::this_thread::sleep_for(30ms);
  BOOST_TEST(answered() == 5);
  for (auto& c : clients) {
    if (c->available() == 0) continue;
    auto r = c->read(1s);
    BOOST_TEST(r.status == 503);
    BOOST_TEST(is_error_json(r, "overloaded"));
    BOOST_TEST(r.header("connection") == "close");
    BOOST_TEST(c->closed_within(1s));
  }
  BOOST_TEST(telemetry::metrics().http_rejected_connections.value() - rejected_before == 5u);
  clients.clear();
  BOOST_TEST(server_env::eventually([&] { return env.server->open_connections() == 0; }));
  client later(port);
  later.send(get("/"));
  BOOST_TEST(later.read().status == 200);
}

BOOST_AUTO_TEST_CASE(respond_from_another_thread_works) {
  server_env env;
  client c(env.server->port());
  auto t0 = clock_type::now();
  c.send(get("/thread"));
  auto r = c.read();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find(R"("target":"/thread")") != std::string::npos);
  BOOST_TEST(ms(clock_type::now() - t0) >= 50);
  // The connection is still good for the next request.
  c.send(get("/after"));
  BOOST_TEST(c.read().status == 200);
}

BOOST_AUTO_TEST_CASE(a_second_respond_call_is_ignored) {
  server_env env;
  client c(env.server->port());
  c.send(get("/twice"));
  auto r = c.read();
  BOOST_TEST(r.status == 200);
  c.send(get("/next"));
  auto next = c.read();
  BOOST_TEST(next.status == 200);
  BOOST_TEST(next.body.find(R"("target":"/next")") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_client_that_leaves_while_its_request_is_handled_frees_its_session) {
  server_env env;
  {
    client c(env.server->port());
    c.send(get("/never"));
    BOOST_TEST(server_env::eventually([&] { return env.received == 1; }));
  }
  BOOST_TEST(server_env::eventually([&] { return env.server->open_connections() == 0; }));
  // Answering now goes nowhere, and harms nothing.
  std::lock_guard lock(env.mutex);
  env.parked.at(0)(net::http_response{});
}

BOOST_AUTO_TEST_CASE(shutdown_drains_an_in_flight_request_and_closes_idle_ones) {
  server_env env;
  auto port = env.server->port();
  client idle(port);
  idle.send(get("/"));
  BOOST_TEST(idle.read().status == 200);
  client busy(port);
  busy.send(get("/slow"));
  BOOST_TEST(server_env::eventually([&] { return env.received == 2; }));

  std::promise<void> done;
  auto t0 = clock_type::now();
  env.server->shutdown(2s, [&] { done.set_value(); });
  BOOST_TEST(idle.closed_within(500ms));
  auto r = busy.read();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find(R"("target":"/slow")") != std::string::npos);
  BOOST_TEST(r.header("connection") == "close");
  BOOST_TEST(busy.closed_within(1s));
  auto drained = done.get_future();
  BOOST_TEST((drained.wait_for(1s) == std::future_status::ready));
  BOOST_TEST(ms(clock_type::now() - t0) < 1500);  // drained, not cut off by the grace
  BOOST_TEST(env.server->open_connections() == 0u);
  // No new connections once draining began.
  asio::io_context ctx;
  tcp::socket s(ctx);
  error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  BOOST_TEST(ec.failed());
}

BOOST_AUTO_TEST_CASE(shutdown_cuts_off_a_request_that_outlives_the_grace) {
  server_env env;
  client c(env.server->port());
  c.send(get("/never"));
  BOOST_TEST(server_env::eventually([&] { return env.received == 1; }));
  std::promise<void> done;
  auto t0 = clock_type::now();
  env.server->shutdown(300ms, [&] { done.set_value(); });
  auto drained = done.get_future();
  BOOST_TEST((drained.wait_for(2s) == std::future_status::ready));
  auto waited = clock_type::now() - t0;
  BOOST_TEST(ms(waited) >= 250);
  BOOST_TEST(ms(waited) < 1000);
  BOOST_TEST(c.closed_within(1s));
  // The session closes its socket first, then fires the signal (on its shard's thread).
  BOOST_TEST(server_env::eventually([&] { return env.signal(0)->fired(); }));
}

BOOST_AUTO_TEST_CASE(a_taken_port_is_a_clear_error) {
  server_env env;
  auto taken = "127.0.0.1:" + std::to_string(env.server->port());
  BOOST_CHECK_EXCEPTION(net::http_server::create(env.io.context(), taken, small_limits(), {},
                                                 nyxgate::identity::new_request_id),
                        std::runtime_error, [&](const std::runtime_error& e) {
                          return std::string{e.what()}.find(taken) != std::string::npos;
                        });
  BOOST_CHECK_THROW(net::http_server::create(env.io.context(), "nonsense", small_limits(), {},
                                             nyxgate::identity::new_request_id),
                    std::runtime_error);
}

// -- streamed answers and the disconnect signal ------------------------------------------------

BOOST_AUTO_TEST_CASE(a_streamed_response_arrives_piece_by_piece_with_its_headers) {
  server_env env;
  auto& counted =
      telemetry::metrics()
          .http_requests[static_cast<std::size_t>(telemetry::route_kind::data_plane)][1];
  auto counted_before = counted.value();
  client c(env.server->port());
  c.send(get("/stream", "X-Request-Id: sse-1\r\n"));
  auto w = env.writer();
  BOOST_REQUIRE(w);
  auto head = c.read_head();
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.header("transfer-encoding") == "chunked");
  BOOST_TEST(head.header("content-length").empty());
  BOOST_TEST(head.header("content-type") == "text/event-stream");
  BOOST_TEST(head.header("cache-control") == "no-cache");
  BOOST_TEST(head.header("x-request-id") == "sse-1");
  BOOST_TEST(head.header("server") == "nyxgate");

  BOOST_TEST(w->write("data: one\n\n"));
  // The first piece arrives while the second does not exist yet.
  BOOST_TEST(c.read_chunks_until([](const std::string& b) { return b.size() >= 11; }));
  BOOST_TEST(c.body == "data: one\n\n");
  BOOST_TEST(w->write("data: two\n\n"));
  BOOST_TEST(c.read_chunks_until([](const std::string& b) { return b.size() >= 22; }));
  BOOST_TEST(c.body == "data: one\n\ndata: two\n\n");
  BOOST_TEST(counted.value() == counted_before);  // logged and counted when it ends
  w->finish();
  BOOST_TEST(c.read_to_end());
  BOOST_TEST(c.ended);
  BOOST_TEST(c.body == "data: one\n\ndata: two\n\n");
  BOOST_TEST(!w->write("too late"));
  BOOST_TEST(server_env::eventually([&] { return counted.value() == counted_before + 1; }));

  // The connection serves its next request.
  c.send(get("/after"));
  auto r = c.read();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find(R"("target":"/after")") != std::string::npos);
  BOOST_TEST(env.server->open_connections() == 1u);
  BOOST_TEST(!env.signal(0)->fired());  // a completed stream is no disconnect
}

BOOST_AUTO_TEST_CASE(a_dropped_writer_finishes_the_stream_cleanly) {
  server_env env;
  client c(env.server->port());
  c.send(get("/stream"));
  BOOST_TEST(c.read_head().status == 200);
  {
    auto w = env.writer();
    BOOST_REQUIRE(w);
    BOOST_TEST(w->write("last words"));
    std::lock_guard lock(env.mutex);
    env.writers.clear();
  }  // the handler forgot finish(): the last reference is gone
  BOOST_TEST(c.read_to_end());
  BOOST_TEST(c.ended);
  BOOST_TEST(c.body == "last words");
  c.send(get("/after"));
  BOOST_TEST(c.read().status == 200);
}

BOOST_AUTO_TEST_CASE(pieces_queued_behind_a_pending_write_go_out_as_one_chunk) {
  server_env env;
  client c(env.server->port(), 4096);  // a small window: the big piece cannot be absorbed
  c.send(get("/stream"));
  auto w = env.writer();
  BOOST_REQUIRE(w);
  std::atomic<int> drained{0};
  std::atomic<std::size_t> queued_when_drained{12345};
  auto* raw = w.get();  // the callback lives in the writer: no owning capture
  w->on_drained([&, raw] {
    queued_when_drained = raw->queued_bytes();
    ++drained;
  });
  const std::string big(16 << 20, 'x');
  BOOST_TEST(w->write(big));
  BOOST_TEST(w->queued_bytes() >= big.size());
  std::this_thread::sleep_for(100ms);  // the client reads nothing yet
  BOOST_TEST(w->queued_bytes() == big.size());
  BOOST_TEST(drained == 0);
  std::string tail;
  for (int i = 0; i < 100; ++i) {
    std::string piece = "tail " + std::to_string(i) + ";";
    tail += piece;
    BOOST_TEST(w->write(std::move(piece)));
  }
  BOOST_TEST(w->queued_bytes() == big.size() + tail.size());

  BOOST_TEST(c.read_head().status == 200);
  auto total = big.size() + tail.size();
  BOOST_TEST(c.read_chunks_until([&](const std::string& b) { return b.size() >= total; }, 20s));
  BOOST_TEST(c.body.size() == total);
  BOOST_TEST((c.body.compare(0, big.size(), big) == 0));
  BOOST_TEST(c.body.substr(big.size()) == tail);
  BOOST_TEST(c.chunks == 2u);  // the big piece, then the 100 small ones gathered
  BOOST_TEST(server_env::eventually([&] { return drained >= 1; }));
  BOOST_TEST(queued_when_drained == 0u);
  BOOST_TEST(w->queued_bytes() == 0u);
  w->finish();
  BOOST_TEST(c.read_to_end());
}

BOOST_AUTO_TEST_CASE(a_client_leaving_mid_stream_fires_disconnected_and_fails_writes) {
  server_env env;
  std::shared_ptr<net::response_writer> w;
  std::shared_ptr<net::disconnect_signal> signal;
  std::atomic<int> notified{0};
  {
    client c(env.server->port());
    c.send(get("/stream"));
    w = env.writer();
    signal = env.signal(0);
    BOOST_REQUIRE(w);
    BOOST_REQUIRE(signal);
    signal->subscribe([&] { ++notified; });
    BOOST_TEST(c.read_head().status == 200);
    BOOST_TEST(w->write("data: a\n\n"));
    BOOST_TEST(c.read_chunks_until([](const std::string& b) { return !b.empty(); }));
    BOOST_TEST(!signal->fired());
  }  // the client hangs up
  BOOST_TEST(server_env::eventually([&] { return signal->fired(); }));
  BOOST_TEST(notified == 1);
  BOOST_TEST(!w->write("data: b\n\n"));
  w->finish();  // harmless
  BOOST_TEST(server_env::eventually([&] { return env.server->open_connections() == 0; }));
  BOOST_TEST(notified == 1);
}

BOOST_AUTO_TEST_CASE(a_client_leaving_while_its_handler_works_fires_disconnected) {
  server_env env;
  std::shared_ptr<net::disconnect_signal> signal;
  {
    client c(env.server->port());
    c.send(get("/never"));
    signal = env.signal(0);
    BOOST_REQUIRE(signal);
    std::this_thread::sleep_for(50ms);
    BOOST_TEST(!signal->fired());
  }
  BOOST_TEST(server_env::eventually([&] { return signal->fired(); }));
  std::lock_guard lock(env.mutex);
  env.parked.at(0)(net::http_response{});  // answering afterwards harms nothing
}

BOOST_AUTO_TEST_CASE(an_answered_request_does_not_fire_disconnected_when_the_client_leaves) {
  server_env env;
  {
    client c(env.server->port());
    c.send(get("/a"));
    BOOST_TEST(c.read().status == 200);
  }
  BOOST_TEST(server_env::eventually([&] { return env.server->open_connections() == 0; }));
  BOOST_TEST(!env.signal(0)->fired());
}

BOOST_AUTO_TEST_CASE(a_request_pipelined_behind_a_stream_is_served_after_it) {
  server_env env;
  client c(env.server->port());
  c.send(get("/stream") + get("/second"));
  auto w = env.writer();
  BOOST_REQUIRE(w);
  BOOST_TEST(c.read_head().status == 200);
  BOOST_TEST(w->write("one"));
  std::this_thread::sleep_for(50ms);  // the watch has read the pipelined bytes by now
  BOOST_TEST(w->write("two"));
  w->finish();
  BOOST_TEST(c.read_to_end());
  BOOST_TEST(c.body == "onetwo");
  auto r = c.read();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find(R"("target":"/second")") != std::string::npos);
  BOOST_TEST(env.received == 2);
  BOOST_TEST(!env.signal(0)->fired());
}

BOOST_AUTO_TEST_CASE(a_request_pipelined_behind_a_pending_answer_is_served_after_it) {
  server_env env;
  client c(env.server->port());
  c.send(get("/slow"));
  std::this_thread::sleep_for(50ms);  // the handler works; the watch is reading
  c.send(get("/second"));
  auto first = c.read();
  auto second = c.read();
  BOOST_TEST(first.body.find(R"("target":"/slow")") != std::string::npos);
  BOOST_TEST(second.body.find(R"("target":"/second")") != std::string::npos);
  BOOST_TEST(!env.signal(0)->fired());
}

BOOST_AUTO_TEST_CASE(a_stream_that_keeps_writing_outlives_the_idle_and_write_timeouts) {
  auto limits = small_limits();
  limits.idle_timeout = 200ms;
  limits.write_timeout = 200ms;
  server_env env(limits);
  client c(env.server->port());
  c.send(get("/stream"));
  auto w = env.writer();
  BOOST_REQUIRE(w);
  BOOST_TEST(c.read_head().status == 200);
  std::string expected;
  for (int i = 0; i < 12; ++i) {
    std::string piece = "tick " + std::to_string(i) + "\n";
    expected += piece;
    BOOST_TEST(w->write(std::move(piece)));
    BOOST_TEST(c.read_chunks_until([&](const std::string& b) { return b == expected; }));
    // A quiet spell longer than both timeouts, once: quiet is not stalled.
    std::this_thread::sleep_for(i == 5 ? 450ms : 60ms);
  }
  w->finish();
  BOOST_TEST(c.read_to_end());
  BOOST_TEST(c.body == expected);
  c.send(get("/after"));
  BOOST_TEST(c.read().status == 200);
  BOOST_TEST(!env.signal(0)->fired());
}

BOOST_AUTO_TEST_CASE(a_client_that_stops_reading_a_stream_is_cut_off_after_the_write_timeout) {
  auto limits = small_limits();
  limits.write_timeout = 300ms;
  server_env env(limits);
  auto port = env.server->port();
  auto timeouts_before = telemetry::metrics().http_timeouts.value();
  client stuck(port, 4096);
  stuck.send(get("/stream"));
  auto w = env.writer();
  auto signal = env.signal(0);
  BOOST_REQUIRE(w);
  BOOST_REQUIRE(signal);
  auto t0 = clock_type::now();
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> written{0};
  // A producer with back-pressure: it pauses while a megabyte is queued.
  std::thread producer([&] {
    const std::string piece(64 << 10, 'y');
    while (!stop) {
      if (w->queued_bytes() > (1u << 20)) {
        std::this_thread::sleep_for(1ms);
        continue;
      }
      if (!w->write(piece)) break;
      written += piece.size();
    }
  });

  client good(port);
  std::vector<clock_type::duration> latencies;
  while (!signal->fired() && clock_type::now() - t0 < 5s) {
    auto t1 = clock_type::now();
    good.send(get("/fast"));
    auto r = good.read(1s);
    latencies.push_back(clock_type::now() - t1);
    BOOST_TEST(r.status == 200);
    if (r.status != 200) break;
    std::this_thread::sleep_for(10ms);
  }
  auto cut_after = clock_type::now() - t0;
  stop = true;
  producer.join();

  BOOST_TEST(signal->fired());
  BOOST_TEST(ms(cut_after) >= 300);
  BOOST_TEST(ms(cut_after) < 3000);
  BOOST_TEST(written.load() > (1u << 20));  // it did stream until the window filled
  BOOST_TEST(!w->write("late"));
  BOOST_TEST(telemetry::metrics().http_timeouts.value() > timeouts_before);
  BOOST_REQUIRE(latencies.size() >= 5u);
  std::sort(latencies.begin(), latencies.end());
  BOOST_TEST(ms(latencies[latencies.size() / 2]) < 50);
  BOOST_TEST(env.server->open_connections() == 1u);  // the good client only
}

BOOST_AUTO_TEST_CASE(shutdown_cuts_off_a_stream_that_outlives_the_grace_and_fires_disconnected) {
  server_env env;
  client c(env.server->port());
  c.send(get("/stream"));
  auto w = env.writer();
  auto signal = env.signal(0);
  BOOST_REQUIRE(w);
  BOOST_TEST(c.read_head().status == 200);
  BOOST_TEST(w->write("a"));
  BOOST_TEST(c.read_chunks_until([](const std::string& b) { return !b.empty(); }));
  std::promise<void> done;
  env.server->shutdown(300ms, [&] { done.set_value(); });
  BOOST_TEST(w->write("b"));  // still streaming within the grace
  BOOST_TEST(c.read_chunks_until([](const std::string& b) { return b == "ab"; }));
  BOOST_TEST((done.get_future().wait_for(2s) == std::future_status::ready));
  BOOST_TEST(signal->fired());
  BOOST_TEST(!w->write("c"));
  BOOST_TEST(!c.read_to_end(1s));
  BOOST_TEST(!c.ended);
}

BOOST_AUTO_TEST_CASE(a_stream_open_at_the_end_of_the_grace_gets_its_last_word) {
  server_env env;
  client c(env.server->port());
  c.send(get("/stream"));
  auto w = env.writer();
  auto signal = env.signal(0);
  BOOST_REQUIRE(w);
  BOOST_TEST(c.read_head().status == 200);
  // What a request actor does when the grace runs out: its error event, then the end.
  signal->subscribe([w, signal] {
    if (signal->cause() != net::disconnect_cause::server_stopping) return;
    w->write("last");
    w->finish();
  });
  BOOST_TEST(w->write("a"));
  BOOST_TEST(c.read_chunks_until([](const std::string& b) { return !b.empty(); }));
  std::promise<void> done;
  env.server->shutdown(300ms, [&] { done.set_value(); });
  BOOST_TEST(c.read_to_end(2s));
  BOOST_TEST(c.ended);
  BOOST_TEST(c.body == "alast");
  BOOST_TEST((done.get_future().wait_for(2s) == std::future_status::ready));
  BOOST_TEST((signal->cause() == net::disconnect_cause::server_stopping));
}

BOOST_AUTO_TEST_CASE(shutdown_lets_a_stream_finish_within_the_grace_then_closes) {
  server_env env;
  client c(env.server->port());
  c.send(get("/stream"));
  auto w = env.writer();
  BOOST_REQUIRE(w);
  BOOST_TEST(c.read_head().status == 200);
  std::promise<void> done;
  env.server->shutdown(2s, [&] { done.set_value(); });
  BOOST_TEST(w->write("bye"));
  w->finish();
  BOOST_TEST(c.read_to_end());
  BOOST_TEST(c.body == "bye");
  BOOST_TEST(c.closed_within(1s));
  BOOST_TEST((done.get_future().wait_for(1s) == std::future_status::ready));
  BOOST_TEST(!env.signal(0)->fired());
}

BOOST_AUTO_TEST_CASE(an_http_1_0_stream_is_raw_and_ends_with_the_connection) {
  server_env env;
  client c(env.server->port());
  c.send("GET /stream HTTP/1.0\r\n\r\n");
  auto w = env.writer();
  BOOST_REQUIRE(w);
  auto head = c.read_head();
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.header("transfer-encoding").empty());
  BOOST_TEST(head.header("content-length").empty());
  BOOST_TEST(w->write("raw "));
  BOOST_TEST(w->write("bytes"));
  w->finish();
  BOOST_TEST(c.read_until_close() == "raw bytes");
}

BOOST_AUTO_TEST_CASE(a_streamed_answer_to_head_sends_the_head_only) {
  server_env env;
  client c(env.server->port());
  c.send("HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n");
  auto w = env.writer();
  BOOST_REQUIRE(w);
  auto head = c.read_head();
  BOOST_TEST(head.status == 200);
  BOOST_TEST(w->write("not on the wire"));
  w->finish();
  BOOST_TEST(server_env::eventually([&] { return w->queued_bytes() == 0; }));
  // Body bytes would show up where the next answer's status line must be.
  c.send(get("/after"));
  auto r = c.read();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find(R"("target":"/after")") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
