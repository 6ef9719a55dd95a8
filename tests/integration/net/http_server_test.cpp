// The Beast server on a real socket: keep-alive, request ids, limits, the connection cap,
// and draining on shutdown. Raw bytes over blocking sockets, so nothing is hidden by a client.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>
#include <future>
#include <thread>

#include "net/http_server.hpp"
#include "net/io_runtime.hpp"

using namespace nyxgate;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct server_env {
  net::io_runtime io{2};
  std::shared_ptr<net::http_server> server;

  explicit server_env(net::server_limits limits = small_limits()) {
    server = net::http_server::create(
        io.context(), "127.0.0.1:0", limits, [](net::http_request req, net::respond_fn respond) {
          net::http_response r;
          r.body = req.method + " " + req.target + " " + req.body;
          if (req.target == "/slow") {
            std::thread([respond, r] {
              std::this_thread::sleep_for(std::chrono::milliseconds(300));
              respond(r);
            }).detach();
            return;
          }
          respond(std::move(r));
        });
    server->start();
    io.start();
  }
  ~server_env() {
    std::promise<void> done;
    server->shutdown(std::chrono::milliseconds(500), [&] { done.set_value(); });
    done.get_future().wait_for(std::chrono::seconds(5));
    io.stop();
    io.join();
  }

  static net::server_limits small_limits() {
    net::server_limits l;
    l.max_body_bytes = 1024;
    l.max_header_bytes = 2048;
    l.max_url_bytes = 512;
    l.header_timeout = std::chrono::milliseconds(500);
    l.idle_timeout = std::chrono::milliseconds(2000);
    l.max_connections = 8;
    return l;
  }
};

struct client {
  asio::io_context ctx;
  tcp::socket socket{ctx};
  asio::streambuf buffer;

  explicit client(unsigned short port) {
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  void send(const std::string& bytes) { asio::write(socket, asio::buffer(bytes)); }
  /// Reads one response (header plus Content-Length body); empty when the server closed.
  std::string read_response() {
    boost::system::error_code ec;
    auto n = asio::read_until(socket, buffer, "\r\n\r\n", ec);
    if (ec) return {};
    std::string head{asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + n};
    buffer.consume(n);
    std::size_t length = 0;
    if (auto at = head.find("Content-Length: "); at != std::string::npos)
      length = std::stoul(head.substr(at + 16));
    if (buffer.size() < length)
      asio::read(socket, buffer, asio::transfer_exactly(length - buffer.size()), ec);
    std::string body{asio::buffers_begin(buffer.data()),
                     asio::buffers_begin(buffer.data()) + length};
    buffer.consume(length);
    return head + body;
  }
  bool closed_by_peer() {
    char c;
    boost::system::error_code ec;
    socket.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }
};

std::string get(const std::string& target, const std::string& extra = {}) {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_server_test)

BOOST_AUTO_TEST_CASE(keep_alive_serves_several_requests_on_one_connection) {
  server_env env;
  client c(env.server->port());
  c.send(get("/a"));
  auto first = c.read_response();
  BOOST_TEST(first.find("HTTP/1.1 200") == 0u);
  BOOST_TEST(first.find("GET /a") != std::string::npos);
  BOOST_TEST(first.find("x-request-id: ") != std::string::npos);
  c.send("POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  auto second = c.read_response();
  BOOST_TEST(second.find("POST /b hello") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_sane_client_request_id_is_kept_and_a_bad_one_replaced) {
  server_env env;
  client c(env.server->port());
  c.send(get("/", "X-Request-Id: abc-123\r\n"));
  BOOST_TEST(c.read_response().find("x-request-id: abc-123\r\n") != std::string::npos);
  c.send(get("/", "X-Request-Id: <script>\r\n"));
  auto r = c.read_response();
  BOOST_TEST(r.find("<script>") == std::string::npos);
  BOOST_TEST(r.find("x-request-id: ") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(limits_answer_4xx_and_close) {
  server_env env;
  auto status_of = [&](const std::string& bytes) {
    client c(env.server->port());
    c.send(bytes);
    return c.read_response().substr(0, 12);
  };
  BOOST_TEST(status_of("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n") ==
             "HTTP/1.1 413");
  BOOST_TEST(status_of("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
                       std::string(2048, 'x') + "\r\n0\r\n\r\n") == "HTTP/1.1 413");
  BOOST_TEST(status_of(get("/", "X-Big: " + std::string(4096, 'y') + "\r\n")) == "HTTP/1.1 431");
  BOOST_TEST(status_of(get("/" + std::string(1000, 'u'))) == "HTTP/1.1 414");
  BOOST_TEST(status_of("HELLO THERE\r\n\r\n") == "HTTP/1.1 400");
}

BOOST_AUTO_TEST_CASE(slowloris_gets_408_while_others_are_served) {
  server_env env;
  client slow(env.server->port());
  slow.send("GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ");
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    client ok(env.server->port());
    ok.send(get("/fast"));
    BOOST_TEST(ok.read_response().find("HTTP/1.1 200") == 0u);
  }
  auto r = slow.read_response();
  auto waited = std::chrono::steady_clock::now() - started;
  BOOST_TEST(r.find("HTTP/1.1 408") == 0u);
  BOOST_TEST(waited < std::chrono::milliseconds(2000));
  BOOST_TEST(slow.closed_by_peer());
}

BOOST_AUTO_TEST_CASE(over_the_connection_cap_new_clients_get_503) {
  server_env env;
  std::vector<std::unique_ptr<client>> held;
  for (int i = 0; i < 8; ++i) held.push_back(std::make_unique<client>(env.server->port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  client extra(env.server->port());
  extra.send(get("/"));
  BOOST_TEST(extra.read_response().find("HTTP/1.1 503") == 0u);
  held.clear();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  client later(env.server->port());
  later.send(get("/"));
  BOOST_TEST(later.read_response().find("HTTP/1.1 200") == 0u);
}

BOOST_AUTO_TEST_CASE(shutdown_drains_an_in_flight_request) {
  auto env = std::make_unique<server_env>();
  client c(env->server->port());
  c.send(get("/slow"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::promise<void> done;
  env->server->shutdown(std::chrono::seconds(2), [&] { done.set_value(); });
  auto r = c.read_response();
  BOOST_TEST(r.find("HTTP/1.1 200") == 0u);
  BOOST_TEST(r.find("Connection: close") != std::string::npos);
  BOOST_TEST((done.get_future().wait_for(std::chrono::seconds(3)) == std::future_status::ready));
  // New connections are refused once draining began.
  boost::system::error_code ec;
  asio::io_context ctx;
  tcp::socket s(ctx);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), env->server->port()), ec);
  BOOST_TEST(ec.failed());
}

BOOST_AUTO_TEST_SUITE_END()
