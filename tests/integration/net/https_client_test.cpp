// The outbound client against a local server on 127.0.0.1, TLS with a throwaway CA made by the
// openssl CLI (or plain HTTP): verification, host names, the deadline, keep-alive reuse, the
// retry of a dead pooled connection, and the response limit.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>

#include "net/client/https_client.hpp"
#include "runtime/io_runtime.hpp"
#include "tests/integration/eventually.hpp"

using namespace nyxgate;
using nyxgate::testing::eventually;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

namespace {

/// A throwaway CA and two server certificates it signed, made once per test run.
struct test_pki {
  fs::path dir;

  test_pki() {
    dir = fs::temp_directory_path() / ("nyxgate-https-client-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
        " -subj /CN=nyxgate-test-ca -addext basicConstraints=critical,CA:TRUE"
        " -addext keyUsage=critical,keyCertSign,cRLSign -keyout ca.key -out ca.pem");
    issue("localhost", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    issue("other", "other.test", "subjectAltName=DNS:other.test");
  }
  ~test_pki() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  std::string ca() const { return (dir / "ca.pem").string(); }
  std::string cert(const std::string& name) const { return (dir / (name + ".pem")).string(); }
  std::string key(const std::string& name) const { return (dir / (name + ".key")).string(); }

 private:
  void run(const std::string& command) const {
    auto full = "cd '" + dir.string() + "' && " + command + " >/dev/null 2>&1";
    if (std::system(full.c_str()) != 0) throw std::runtime_error("failed: " + command);
  }

  void issue(const std::string& name, const std::string& cn, const std::string& san) const {
    std::ofstream{dir / (name + ".ext")} << san
                                         << "\nbasicConstraints=CA:FALSE"
                                            "\nkeyUsage=digitalSignature"
                                            "\nextendedKeyUsage=serverAuth\n";
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + cn +
        " -keyout " + name + ".key -out " + name + ".csr");
    run("openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial" +
        " -days 2 -extfile " + name + ".ext -out " + name + ".pem");
  }
};

const test_pki& pki() {
  static test_pki instance;
  return instance;
}

enum class behaviour {
  answer,             ///< JSON naming the path and whether an Authorization header came
  silent,             ///< reads the request, never answers
  oversize,           ///< a 64 KiB body
  drop_after_answer,  ///< answers with keep-alive, then closes the connection at once
  /// A chunked event stream shaped by the query: `chunks`, `delay` (ms between chunks),
  /// `status`, and `stall` (stop writing after the first chunk without ending the body).
  stream,
};

/// `name=value` from a request target's query; `fallback` when absent.
int query_int(std::string_view target, std::string_view name, int fallback) {
  auto q = target.find('?');
  while (q != std::string_view::npos) {
    auto start = q + 1;
    auto end = target.find('&', start);
    auto pair = target.substr(start, end == std::string_view::npos ? end : end - start);
    if (pair.substr(0, name.size()) == name && pair.size() > name.size() &&
        pair[name.size()] == '=')
      return std::atoi(std::string{pair.substr(name.size() + 1)}.c_str());
    q = end;
  }
  return fallback;
}

std::string stream_chunk(int i) {
  return "data: {\"n\":" + std::to_string(i) + "}\n\n";
}

/// A local HTTP/1.1 server on 127.0.0.1:0 on its own thread; TLS when given a certificate name.
class test_server {
 public:
  explicit test_server(behaviour b, std::optional<std::string> cert = std::nullopt)
      : behaviour_(b) {
    if (cert) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain_file(pki().cert(*cert));
      tls_->use_private_key_file(pki().key(*cert), ssl::context::pem);
    }
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~test_server() {
    ioc_.stop();
    thread_.join();
  }

  std::string url(const std::string& host, const std::string& path) const {
    return std::string{tls_ ? "https" : "http"} + "://" + host + ":" +
           std::to_string(acceptor_.local_endpoint().port()) + path;
  }
  int connections() const { return accepted_.load(); }
  /// Streams whose client went away before the last chunk.
  int aborted_streams() const { return aborted_.load(); }
  int finished_streams() const { return finished_.load(); }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto socket = co_await acceptor_.async_accept(asio::use_awaitable);
      ++accepted_;
      asio::co_spawn(ioc_, session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    try {
      if (tls_) {
        ssl::stream<tcp::socket> stream{std::move(socket), *tls_};
        co_await stream.async_handshake(ssl::stream_base::server, asio::use_awaitable);
        co_await serve(stream);
      } else {
        co_await serve(socket);
      }
    } catch (const std::exception&) {
      // The client went away or refused our certificate.
    }
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      co_await http::async_read(stream, buffer, req, asio::use_awaitable);
      if (behaviour_ == behaviour::silent) {
        asio::steady_timer never{ioc_, std::chrono::hours(1)};
        co_await never.async_wait(asio::use_awaitable);
      }
      if (behaviour_ == behaviour::stream) {
        if (!co_await write_stream(stream, req.target())) co_return;
        continue;
      }
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/json");
      if (behaviour_ == behaviour::oversize) {
        res.body() = std::string(64 << 10, 'x');
      } else {
        bool authorized = req.count(http::field::authorization) > 0;
        std::uint32_t sum = 0;
        for (unsigned char c : req.body()) sum = sum * 31 + c;
        res.body() = R"({"object":"list","data":[{"id":"test-model"}],"path":")" +
                     std::string{req.target()} + R"(","authorization":)" +
                     (authorized ? "true" : "false") + R"(,"body_bytes":)" +
                     std::to_string(req.body().size()) + R"(,"body_sum":)" + std::to_string(sum) +
                     "}";
      }
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      co_await http::async_write(stream, res, asio::use_awaitable);
      if (behaviour_ == behaviour::drop_after_answer || !res.keep_alive()) co_return;
    }
  }

  /// Writes the chunked answer by hand so each chunk leaves at its own time; false when the
  /// connection is finished (client gone, or a stall).
  template <class Stream>
  asio::awaitable<bool> write_stream(Stream& stream, std::string_view target) {
    int chunks = query_int(target, "chunks", 5);
    int delay = query_int(target, "delay", 20);
    int status = query_int(target, "status", 200);
    bool stall = query_int(target, "stall", 0) != 0;
    auto send = [&](std::string bytes) -> asio::awaitable<bool> {
      boost::system::error_code ec;
      co_await asio::async_write(stream, asio::buffer(bytes),
                                 asio::redirect_error(asio::use_awaitable, ec));
      co_return !ec;
    };
    auto chunk = [](const std::string& data) {
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", data.size());
      return size + data + "\r\n";
    };
    std::string head = "HTTP/1.1 " + std::to_string(status) +
                       " Status\r\nContent-Type: text/event-stream\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n";
    if (!co_await send(head)) co_return false;
    if (status != 200) {
      bool ok = co_await send(chunk(R"({"error":{"message":"slow down"}})") + "0\r\n\r\n");
      co_return ok;
    }
    for (int i = 0; i < chunks; ++i) {
      if (i > 0 && delay > 0) {
        asio::steady_timer pause{ioc_, std::chrono::milliseconds(delay)};
        co_await pause.async_wait(asio::use_awaitable);
      }
      if (!co_await send(chunk(stream_chunk(i)))) {
        ++aborted_;
        co_return false;
      }
      if (stall) {
        asio::steady_timer never{ioc_, std::chrono::hours(1)};
        co_await never.async_wait(asio::use_awaitable);
      }
    }
    if (!co_await send("0\r\n\r\n")) co_return false;
    ++finished_;
    co_return true;
  }

  behaviour behaviour_;
  std::optional<ssl::context> tls_;  // before ioc_: sessions destroyed with ioc_ still use it
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}};
  std::atomic<int> accepted_{0};
  std::atomic<int> aborted_{0};
  std::atomic<int> finished_{0};
  std::thread thread_;
};

struct client_env {
  runtime::io_runtime io{2};
  std::shared_ptr<net::https_client> client;

  explicit client_env(net::tls_options tls) {
    client = net::https_client::create(io.context(), std::move(tls));
    io.start();
  }
  ~client_env() {
    client.reset();
    io.stop();
    io.join();
  }

  net::outbound_response fetch(net::outbound_request req) {
    auto promise = std::make_shared<std::promise<net::outbound_response>>();
    auto result = promise->get_future();
    client->send(std::move(req),
                 [promise](net::outbound_response res) { promise->set_value(std::move(res)); });
    BOOST_REQUIRE(result.wait_for(10s) == std::future_status::ready);
    return result.get();
  }
};

/// Records what a streamed exchange delivers; thread-safe.
struct stream_probe {
  std::mutex mutex;
  std::optional<net::outbound_response> head;
  std::vector<std::string> pieces;
  std::promise<std::string> ended;
  std::function<void(stream_probe&)> after_piece;  ///< runs on the I/O thread
  bool content = true;  ///< what on_data answers: whether a piece restarts the idle clock

  net::stream_handlers handlers() {
    net::stream_handlers h;
    h.on_head = [this](const net::outbound_response& r) {
      std::lock_guard lock(mutex);
      head = r;
    };
    h.on_data = [this](std::string_view piece) {
      {
        std::lock_guard lock(mutex);
        pieces.emplace_back(piece);
      }
      if (after_piece) after_piece(*this);
      return content;
    };
    h.on_end = [this](const std::string& error) { ended.set_value(error); };
    return h;
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return pieces.size();
  }
  std::string body() {
    std::lock_guard lock(mutex);
    std::string out;
    for (const auto& p : pieces) out += p;
    return out;
  }
};

std::string expected_stream(int chunks) {
  std::string out;
  for (int i = 0; i < chunks; ++i) out += stream_chunk(i);
  return out;
}

net::tls_options trusting_test_ca() {
  return net::tls_options{pki().ca(), true};
}

net::outbound_request get(std::string url) {
  net::outbound_request req;
  req.url = std::move(url);
  req.headers = {{"Authorization", "Bearer sk-test-not-a-real-key"}};
  return req;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(https_client_test)

BOOST_AUTO_TEST_CASE(get_succeeds_when_the_test_ca_is_trusted) {
  test_server server{behaviour::answer, "localhost"};
  client_env env{trusting_test_ca()};
  auto res = env.fetch(get(server.url("127.0.0.1", "/v1/models?limit=1")));
  BOOST_TEST(res.error == "");
  BOOST_TEST(res.status == 200u);
  BOOST_TEST(res.header("content-type") == "application/json");
  BOOST_TEST(res.body.find(R"("path":"/v1/models?limit=1")") != std::string::npos);
  BOOST_TEST(res.body.find(R"("authorization":true)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(large_request_bodies_arrive_whole_on_new_and_pooled_connections) {
  // Larger than one TLS record (16 KiB), than Asio's 64 KiB write step and than a fresh
  // connection's first send window: the request goes out in parts. (Beast's test server takes
  // bodies up to 1 MiB.)
  test_server server{behaviour::answer, "localhost"};
  client_env env{trusting_test_ca()};
  for (std::size_t size : {std::size_t{20'000}, std::size_t{300'000}, std::size_t{900'000}}) {
    std::string body(size, '\0');
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < size; ++i) {
      body[i] = static_cast<char>('a' + (i * 7 + i / 977) % 26);
      sum = sum * 31 + static_cast<unsigned char>(body[i]);
    }
    auto expected =
        R"("body_bytes":)" + std::to_string(size) + R"(,"body_sum":)" + std::to_string(sum) + "}";
    for (int round = 0; round < 2; ++round) {  // a new connection, then the pooled one
      auto req = get(server.url("127.0.0.1", "/v1/echo"));
      req.method = "POST";
      req.body = body;
      auto res = env.fetch(std::move(req));
      BOOST_TEST(res.error == "");
      BOOST_TEST(res.status == 200u);
      BOOST_TEST(res.body.find(expected) != std::string::npos, res.body << " lacks " << expected);

      stream_probe probe;
      auto ended = probe.ended.get_future();
      auto streamed = get(server.url("127.0.0.1", "/v1/echo"));
      streamed.method = "POST";
      streamed.body = body;
      auto handle = env.client->open_stream(std::move(streamed), 5s, probe.handlers());
      BOOST_REQUIRE(ended.wait_for(10s) == std::future_status::ready);
      BOOST_TEST(ended.get() == "");
      BOOST_TEST(probe.body().find(expected) != std::string::npos);
    }
  }
  BOOST_TEST(server.connections() == 1);
}

BOOST_AUTO_TEST_CASE(unknown_ca_fails_certificate_verification) {
  test_server server{behaviour::answer, "localhost"};
  client_env env{net::tls_options{}};
  auto res = env.fetch(get(server.url("127.0.0.1", "/v1/models")));
  BOOST_TEST(res.status == 0u);
  BOOST_TEST(res.error.find("certificate verify failed") != std::string::npos, res.error);
  BOOST_TEST(res.body.empty());
}

BOOST_AUTO_TEST_CASE(certificate_for_another_host_fails_verification) {
  {
    test_server server{behaviour::answer, "other"};
    client_env env{trusting_test_ca()};
    auto res = env.fetch(get(server.url("127.0.0.1", "/v1/models")));
    BOOST_TEST(res.status == 0u);
    BOOST_TEST(res.error.find("certificate verify failed") != std::string::npos, res.error);
    BOOST_TEST(res.error.find("hostname mismatch") != std::string::npos, res.error);
  }
  // The same CA with the right name in the certificate, reached by DNS name: accepted.
  test_server server{behaviour::answer, "localhost"};
  client_env env{trusting_test_ca()};
  auto res = env.fetch(get(server.url("localhost", "/v1/models")));
  BOOST_TEST(res.error == "");
  BOOST_TEST(res.status == 200u);
}

BOOST_AUTO_TEST_CASE(server_that_never_answers_times_out) {
  test_server server{behaviour::silent, "localhost"};
  client_env env{trusting_test_ca()};
  auto req = get(server.url("127.0.0.1", "/v1/models"));
  req.timeout = 300ms;
  auto started = std::chrono::steady_clock::now();
  auto res = env.fetch(std::move(req));
  auto elapsed = std::chrono::steady_clock::now() - started;
  BOOST_TEST(res.error == "timeout");
  BOOST_TEST(res.status == 0u);
  BOOST_TEST(elapsed >= 250ms);
  BOOST_TEST(elapsed < 1s);
  BOOST_TEST(env.client->pooled_connections() == 0u);
}

BOOST_AUTO_TEST_CASE(sequential_requests_reuse_one_pooled_connection) {
  test_server server{behaviour::answer, "localhost"};
  client_env env{trusting_test_ca()};
  for (int i = 0; i < 3; ++i) {
    auto res = env.fetch(get(server.url("127.0.0.1", "/v1/models")));
    BOOST_TEST(res.status == 200u);
    BOOST_TEST(env.client->pooled_connections() == 1u);
  }
  BOOST_TEST(server.connections() == 1);
}

BOOST_AUTO_TEST_CASE(each_shard_pools_its_own_connections_and_the_exchange_runs_there) {
  test_server server{behaviour::answer, "localhost"};
  client_env env{trusting_test_ca()};
  auto shards = env.io.shards();
  for (int round = 0; round < 2; ++round) {
    for (auto* shard : shards) {
      auto req = get(server.url("127.0.0.1", "/v1/models"));
      req.context = shard;
      std::promise<asio::io_context*> ran_on;
      std::promise<net::outbound_response> answer;
      env.client->send(std::move(req), [&](net::outbound_response res) {
        ran_on.set_value(runtime::current_context());
        answer.set_value(std::move(res));
      });
      BOOST_TEST(ran_on.get_future().get() == shard);
      BOOST_TEST(answer.get_future().get().status == 200u);
    }
  }
  // One connection per shard, each reused by the second pass.
  BOOST_TEST(server.connections() == static_cast<int>(shards.size()));
  BOOST_TEST(env.client->pooled_connections() == shards.size());
}

BOOST_AUTO_TEST_CASE(dead_pooled_connection_is_retried_for_get_only) {
  test_server server{behaviour::drop_after_answer, "localhost"};
  client_env env{trusting_test_ca()};
  auto url = server.url("127.0.0.1", "/v1/models");
  BOOST_TEST(env.fetch(get(url)).status == 200u);
  BOOST_TEST(env.client->pooled_connections() == 1u);
  std::this_thread::sleep_for(100ms);  // the server has closed the pooled connection

  auto retried = env.fetch(get(url));
  BOOST_TEST(retried.error == "");
  BOOST_TEST(retried.status == 200u);
  BOOST_TEST(server.connections() == 2);

  std::this_thread::sleep_for(100ms);
  auto post = get(url);
  post.method = "POST";
  post.body = R"({"model":"m"})";
  auto res = env.fetch(std::move(post));
  BOOST_TEST(res.status == 0u);
  BOOST_TEST(!res.error.empty());
  BOOST_TEST(server.connections() == 2);  // not sent again
}

BOOST_AUTO_TEST_CASE(response_over_the_limit_is_an_error) {
  test_server server{behaviour::oversize, "localhost"};
  client_env env{trusting_test_ca()};
  auto req = get(server.url("127.0.0.1", "/v1/models"));
  req.max_response_bytes = 1024;
  auto res = env.fetch(std::move(req));
  BOOST_TEST(res.status == 0u);
  BOOST_TEST(res.error == "response body exceeds 1024 bytes");
  BOOST_TEST(res.body.empty());
  BOOST_TEST(env.client->pooled_connections() == 0u);
}

BOOST_AUTO_TEST_CASE(plain_http_works) {
  test_server server{behaviour::answer};
  client_env env{net::tls_options{}};
  auto res = env.fetch(get(server.url("127.0.0.1", "/v1/models")));
  BOOST_TEST(res.error == "");
  BOOST_TEST(res.status == 200u);
  BOOST_TEST(res.body.find(R"("authorization":true)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(async_send_resumes_on_the_coroutine_executor) {
  test_server server{behaviour::answer, "localhost"};
  client_env env{trusting_test_ca()};
  auto strand = asio::make_strand(env.io.context());
  auto client = env.client;
  auto url = server.url("127.0.0.1", "/v1/models");
  auto result = asio::co_spawn(
      strand,
      [client, url, strand]() -> asio::awaitable<std::pair<unsigned, bool>> {
        auto res = co_await client->async_send(get(url));
        co_return std::pair{res.status, strand.running_in_this_thread()};
      },
      asio::use_future);
  BOOST_REQUIRE(result.wait_for(10s) == std::future_status::ready);
  auto [status, on_strand] = result.get();
  BOOST_TEST(status == 200u);
  BOOST_TEST(on_strand);
}

BOOST_AUTO_TEST_CASE(bad_url_and_unloadable_ca_file_are_errors) {
  runtime::io_runtime io{1};
  BOOST_CHECK_THROW(net::https_client::create(io.context(), {"/nonexistent/ca.pem", true}),
                    std::runtime_error);
  client_env env{net::tls_options{}};
  auto res = env.fetch(get("ftp://example.com/file"));
  BOOST_TEST(res.status == 0u);
  BOOST_TEST(res.error.rfind("url:", 0) == 0u, res.error);
}

BOOST_AUTO_TEST_CASE(a_header_value_with_a_control_character_is_refused_before_sending) {
  test_server server{behaviour::answer};
  client_env env{net::tls_options{}};
  for (std::string value : {std::string{"sk-abc\x01"
                                        "def"},
                            std::string{"sk-abc\x7f"},
                            std::string{"sk-abc\0"
                                        "def",
                                        10},
                            std::string{"sk-\x1b[31m"}}) {
    auto req = get(server.url("127.0.0.1", "/v1/models"));
    req.headers = {{"x-api-key", value}};
    auto res = env.fetch(std::move(req));
    BOOST_TEST(res.status == 0u);
    BOOST_TEST(res.error.rfind("request:", 0) == 0u, res.error);
    BOOST_TEST(res.error.find("sk-") == std::string::npos);  // never the value
  }
  BOOST_TEST(server.connections() == 0);
  // A tab inside a value is allowed (RFC 9110 field-value).
  auto tab = get(server.url("127.0.0.1", "/v1/models"));
  tab.headers.emplace_back("x-note", "a\tb");
  BOOST_TEST(env.fetch(std::move(tab)).status == 200u);
}

BOOST_AUTO_TEST_CASE(streamed_answer_arrives_in_pieces_and_the_connection_is_reused) {
  test_server server{behaviour::stream, "localhost"};
  client_env env{trusting_test_ca()};
  for (int round = 0; round < 2; ++round) {
    stream_probe probe;
    auto ended = probe.ended.get_future();
    auto req = get(server.url("127.0.0.1", "/v1/chat/completions?chunks=6&delay=30"));
    req.method = "POST";
    req.body = R"({"stream":true})";
    auto handle = env.client->open_stream(std::move(req), 2s, probe.handlers());
    BOOST_REQUIRE(ended.wait_for(10s) == std::future_status::ready);
    BOOST_TEST(ended.get() == "");
    BOOST_REQUIRE(probe.head.has_value());
    BOOST_TEST(probe.head->status == 200u);
    BOOST_TEST(probe.head->header("content-type") == "text/event-stream");
    BOOST_TEST(probe.body() == expected_stream(6));
    BOOST_TEST(probe.count() >= 3u);  // 30 ms apart: not one buffered piece
    BOOST_TEST(env.client->pooled_connections() == 1u);
  }
  BOOST_TEST(server.connections() == 1);
  BOOST_TEST(server.finished_streams() == 2);
}

BOOST_AUTO_TEST_CASE(cancel_mid_stream_frees_the_upstream_connection) {
  test_server server{behaviour::stream, "localhost"};
  client_env env{trusting_test_ca()};
  stream_probe probe;
  auto ended = probe.ended.get_future();
  auto req = get(server.url("127.0.0.1", "/v1/chat/completions?chunks=500&delay=10"));
  auto handle = env.client->open_stream(std::move(req), 2s, probe.handlers());
  BOOST_REQUIRE(eventually([&] { return probe.count() >= 2; }));
  handle->cancel();
  BOOST_REQUIRE(ended.wait_for(5s) == std::future_status::ready);
  BOOST_TEST(ended.get() == "cancelled");
  BOOST_TEST(eventually([&] { return server.aborted_streams() == 1; }));
  BOOST_TEST(env.client->pooled_connections() == 0u);
  handle->cancel();  // a second cancel is harmless
}

BOOST_AUTO_TEST_CASE(cancel_from_inside_a_handler_stops_delivery) {
  test_server server{behaviour::stream, "localhost"};
  client_env env{trusting_test_ca()};
  stream_probe probe;
  auto ended = probe.ended.get_future();
  std::shared_ptr<net::outbound_stream> handle;
  std::mutex handle_mutex;
  probe.after_piece = [&](stream_probe& p) {
    if (p.count() != 1) return;
    std::lock_guard lock(handle_mutex);
    handle->cancel();
  };
  {
    std::lock_guard lock(handle_mutex);
    handle = env.client->open_stream(
        get(server.url("127.0.0.1", "/v1/chat/completions?chunks=50&delay=10")), 2s,
        probe.handlers());
  }
  BOOST_REQUIRE(ended.wait_for(5s) == std::future_status::ready);
  BOOST_TEST(ended.get() == "cancelled");
  std::this_thread::sleep_for(100ms);
  BOOST_TEST(probe.count() <= 2u);
}

BOOST_AUTO_TEST_CASE(a_quiet_upstream_hits_the_idle_timeout) {
  test_server server{behaviour::stream, "localhost"};
  client_env env{trusting_test_ca()};
  stream_probe probe;
  auto ended = probe.ended.get_future();
  auto started = std::chrono::steady_clock::now();
  auto handle =
      env.client->open_stream(get(server.url("127.0.0.1", "/v1/chat/completions?chunks=5&stall=1")),
                              250ms, probe.handlers());
  BOOST_REQUIRE(ended.wait_for(5s) == std::future_status::ready);
  auto elapsed = std::chrono::steady_clock::now() - started;
  BOOST_TEST(ended.get() == "timeout");
  BOOST_TEST(probe.body() == expected_stream(1));
  BOOST_TEST(elapsed >= 200ms);
  BOOST_TEST(elapsed < 2s);
  BOOST_TEST(env.client->pooled_connections() == 0u);
}

BOOST_AUTO_TEST_CASE(a_stream_ends_by_its_idle_clock_or_deadline_while_bytes_flow) {
  test_server server{behaviour::stream, "localhost"};
  client_env env{trusting_test_ca()};
  // The upstream sends a piece every 50 ms for 10 s; each row ends in a "timeout" at `ends`.
  struct row {
    const char* what;
    bool content;  ///< what the consumer says of each piece
    std::chrono::milliseconds idle, timeout, deadline, ends;
  };
  const row rows[] = {
      {"pieces without content do not restart the idle clock", false, 300ms, 10s, 0ms, 300ms},
      {"the timeout bounds the body, content or not", true, 2s, 400ms, 0ms, 400ms},
      {"the caller's deadline wins over a longer timeout", true, 2s, 10s, 400ms, 400ms},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.what) {
      stream_probe probe;
      probe.content = r.content;
      auto ended = probe.ended.get_future();
      auto started = std::chrono::steady_clock::now();
      auto req = get(server.url("127.0.0.1", "/v1/chat/completions?chunks=200&delay=50"));
      req.timeout = r.timeout;
      if (r.deadline > 0ms) req.deadline = started + r.deadline;
      auto handle = env.client->open_stream(std::move(req), r.idle, probe.handlers());
      BOOST_REQUIRE(ended.wait_for(5s) == std::future_status::ready);
      auto elapsed = std::chrono::steady_clock::now() - started;
      BOOST_TEST(ended.get() == "timeout");
      BOOST_TEST(probe.count() >= 2u);  // pieces kept coming; the clock ran on regardless
      BOOST_TEST(elapsed >= r.ends - 10ms);
      BOOST_TEST(elapsed < r.ends + 1500ms);
    }
  }
}

BOOST_AUTO_TEST_CASE(pause_holds_delivery_until_resume) {
  test_server server{behaviour::stream, "localhost"};
  client_env env{trusting_test_ca()};
  stream_probe probe;
  auto ended = probe.ended.get_future();
  auto handle = env.client->open_stream(
      get(server.url("127.0.0.1", "/v1/chat/completions?chunks=10&delay=40")), 2s,
      probe.handlers());
  BOOST_REQUIRE(eventually([&] { return probe.count() >= 1; }));
  handle->pause();
  std::this_thread::sleep_for(50ms);  // a read already under way may still deliver
  auto held = probe.count();
  BOOST_TEST(eventually([&] { return server.finished_streams() == 1; }));
  std::this_thread::sleep_for(200ms);
  BOOST_TEST(probe.count() == held);
  BOOST_TEST((ended.wait_for(0s) == std::future_status::timeout));
  handle->resume();
  BOOST_REQUIRE(ended.wait_for(5s) == std::future_status::ready);
  BOOST_TEST(ended.get() == "");
  BOOST_TEST(probe.body() == expected_stream(10));
  BOOST_TEST(env.client->pooled_connections() == 1u);
}

BOOST_AUTO_TEST_CASE(error_status_streams_its_body) {
  test_server server{behaviour::stream, "localhost"};
  client_env env{trusting_test_ca()};
  stream_probe probe;
  auto ended = probe.ended.get_future();
  auto handle = env.client->open_stream(
      get(server.url("127.0.0.1", "/v1/chat/completions?status=429")), 2s, probe.handlers());
  BOOST_REQUIRE(ended.wait_for(5s) == std::future_status::ready);
  BOOST_TEST(ended.get() == "");
  BOOST_REQUIRE(probe.head.has_value());
  BOOST_TEST(probe.head->status == 429u);
  BOOST_TEST(probe.body() == R"({"error":{"message":"slow down"}})");
}

BOOST_AUTO_TEST_CASE(stream_over_the_limit_ends_with_an_error) {
  test_server server{behaviour::stream, "localhost"};
  client_env env{trusting_test_ca()};
  stream_probe probe;
  auto ended = probe.ended.get_future();
  auto req = get(server.url("127.0.0.1", "/v1/chat/completions?chunks=50&delay=0"));
  req.max_response_bytes = 100;
  auto handle = env.client->open_stream(std::move(req), 2s, probe.handlers());
  BOOST_REQUIRE(ended.wait_for(5s) == std::future_status::ready);
  BOOST_TEST(ended.get() == "response too large");
  BOOST_TEST(probe.body().size() <= 100u);
  BOOST_TEST(env.client->pooled_connections() == 0u);
}

BOOST_AUTO_TEST_CASE(refused_connection_reports_head_and_end) {
  std::string url;
  {
    test_server gone{behaviour::answer};
    url = gone.url("127.0.0.1", "/v1/chat/completions");
  }  // nothing listens on the port any more
  client_env env{net::tls_options{}};
  stream_probe probe;
  auto ended = probe.ended.get_future();
  auto handle = env.client->open_stream(get(url), 2s, probe.handlers());
  BOOST_REQUIRE(ended.wait_for(5s) == std::future_status::ready);
  auto error = ended.get();
  BOOST_TEST(error.rfind("connect:", 0) == 0u, error);
  BOOST_REQUIRE(probe.head.has_value());
  BOOST_TEST(probe.head->status == 0u);
  BOOST_TEST(probe.head->error == error);
  BOOST_TEST(probe.count() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
