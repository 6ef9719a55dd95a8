// A fast OpenAI-compatible upstream for load benchmarks: POST /v1/chat/completions (JSON or
// SSE stream) and GET /v1/models, over TLS or plain HTTP, one io_context per thread sharing a
// port through SO_REUSEPORT, keep-alive, and answers written as raw bytes from a buffer each
// connection reuses, so it costs less than the proxies measured in front of it.
//
//   nyxgate_mock_upstream [--listen 127.0.0.1:0] [--threads 1] [--port-file F]
//                         (--tls-cert CERT --tls-key KEY | --plain)
//                         [--chunks 8] [--chunk-delay-ms 0]
//
// A request may override the stream shape with `x-mock-chunks: N` (0..10000) and
// `x-mock-chunk-delay-ms: MS` (0..60000). Paced chunks carry their send time in their content
// ("...@<microseconds since the epoch>") for per-chunk latency measurements. A request without an
// Authorization header gets OpenAI's 401, so a proxy that forgets the key shows up as non-2xx
// answers.
#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto tok = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t body_limit = 1 << 20;
constexpr auto idle_timeout = std::chrono::seconds(60);
constexpr int max_chunks = 10000;
constexpr int max_delay_ms = 60000;

struct options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  int threads = 1;
  std::string port_file;
  std::string cert, key;
  bool plain = false;
  int chunks = 8;
  int chunk_delay_ms = 0;
};

[[noreturn]] void usage_error(const std::string& why) {
  std::cerr << "nyxgate_mock_upstream: " << why
            << "\nusage: nyxgate_mock_upstream [--listen HOST:PORT] [--threads N] [--port-file F]"
               " (--tls-cert CERT --tls-key KEY | --plain) [--chunks N] [--chunk-delay-ms MS]\n";
  std::exit(2);
}

std::optional<int> to_int(std::string_view s, int lo, int hi) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) usage_error(std::string(a) + " needs a value");
      return argv[++i];
    };
    auto number = [&](int lo, int hi) {
      auto v = to_int(value(), lo, hi);
      if (!v) usage_error(std::string(a) + ": not an integer in range");
      return *v;
    };
    if (a == "--listen") {
      auto l = value();
      auto colon = l.rfind(':');
      if (colon == std::string_view::npos) usage_error("--listen wants HOST:PORT");
      o.host = std::string(l.substr(0, colon));
      auto p = to_int(l.substr(colon + 1), 0, 65535);
      if (!p) usage_error("--listen: bad port");
      o.port = static_cast<unsigned short>(*p);
    } else if (a == "--threads") {
      o.threads = number(1, 64);
    } else if (a == "--port-file") {
      o.port_file = value();
    } else if (a == "--tls-cert") {
      o.cert = value();
    } else if (a == "--tls-key") {
      o.key = value();
    } else if (a == "--plain") {
      o.plain = true;
    } else if (a == "--chunks") {
      o.chunks = number(0, max_chunks);
    } else if (a == "--chunk-delay-ms") {
      o.chunk_delay_ms = number(0, max_delay_ms);
    } else {
      usage_error("unknown argument " + std::string(a));
    }
  }
  if (!o.plain && (o.cert.empty() || o.key.empty()))
    usage_error("give --tls-cert and --tls-key, or --plain");
  return o;
}

/// What the body asks for, read by scanning rather than parsing: the mock must stay cheap.
struct call_shape {
  bool stream = false;
  bool tools = false;  ///< the request offers tools: the answer calls one
  std::string_view model = "gpt-4o-mini";
};

/// The value after `"key"` and `:`, with leading blanks skipped.
std::string_view value_after(std::string_view body, std::string_view quoted_key) {
  auto at = body.find(quoted_key);
  if (at == std::string_view::npos) return {};
  auto rest = body.substr(at + quoted_key.size());
  auto colon = rest.find_first_not_of(" \t\r\n");
  if (colon == std::string_view::npos || rest[colon] != ':') return {};
  rest = rest.substr(colon + 1);
  auto start = rest.find_first_not_of(" \t\r\n");
  return start == std::string_view::npos ? std::string_view{} : rest.substr(start);
}

call_shape read_shape(std::string_view body) {
  call_shape s;
  s.stream = value_after(body, "\"stream\"").starts_with("true");
  s.tools = value_after(body, "\"tools\"").starts_with("[{");
  auto m = value_after(body, "\"model\"");
  if (m.starts_with('"')) {
    m.remove_prefix(1);
    std::size_t n = 0;
    // Echo only plain model names (no escapes to handle) of sane length.
    while (n < m.size() && n < 128 &&
           (std::isalnum(static_cast<unsigned char>(m[n])) || m[n] == '-' || m[n] == '.' ||
            m[n] == '_' || m[n] == '/' || m[n] == ':'))
      ++n;
    if (n > 0 && n < m.size() && m[n] == '"') s.model = m.substr(0, n);
  }
  return s;
}

/// Per-connection output: two buffers grown once and reused for every answer. A body (or an
/// SSE event) is built in `part` and then framed into `out` once its length is known.
class writer {
 public:
  writer() {
    out_.reserve(8192);
    part_.reserve(4096);
  }
  std::string& buf() { return out_; }
  void clear() { out_.clear(); }
  void append(std::string_view s) { out_.append(s); }
  void append_number(std::size_t v, int base = 10) {
    char tmp[24];
    auto [p, ec] = std::to_chars(tmp, tmp + sizeof tmp, v, base);
    (void)ec;
    out_.append(tmp, p);
  }

  std::string& part() { return part_; }
  void part_number(long long v) {
    char tmp[24];
    auto [p, ec] = std::to_chars(tmp, tmp + sizeof tmp, v);
    (void)ec;
    part_.append(tmp, p);
  }

  /// `part` as the body of a fixed-length answer.
  void answer(std::string_view status, std::string_view content_type, bool keep_alive) {
    append("HTTP/1.1 ");
    append(status);
    append("\r\nServer: nyxgate-mock\r\nContent-Type: ");
    append(content_type);
    append("\r\nContent-Length: ");
    append_number(part_.size());
    if (!keep_alive) append("\r\nConnection: close");
    append("\r\n\r\n");
    out_.append(part_);
    part_.clear();
  }

  /// `part` as one HTTP/1.1 chunk.
  void chunk() {
    append_number(part_.size(), 16);
    append("\r\n");
    out_.append(part_);
    append("\r\n");
    part_.clear();
  }

 private:
  std::string out_;
  std::string part_;
};

constexpr std::string_view token_text = "mock ";

void append_completion(writer& w, const call_shape& s, int tokens, std::uint64_t id,
                       bool keep_alive) {
  auto& b = w.part();
  b.append(R"({"id":"chatcmpl-mock)");
  w.part_number(static_cast<long long>(id));
  b.append(R"(","object":"chat.completion","created":)");
  w.part_number(static_cast<long long>(std::time(nullptr)));
  b.append(R"(,"model":")");
  b.append(s.model);
  b.append(R"(","choices":[{"index":0,"message":{"role":"assistant","content":")");
  for (int i = 0; i < tokens; ++i) b.append(token_text);
  b.append(R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":)");
  w.part_number(tokens);
  b.append(R"(,"total_tokens":)");
  w.part_number(tokens + 12);
  b.append("}}");
  w.answer("200 OK", "application/json", keep_alive);
}

/// The arguments a tool-calling answer carries, and the pieces its stream sends them in.
constexpr std::string_view tool_arguments = R"({\"city\":\"Paris\",\"unit\":\"celsius\"})";

void append_tool_completion(writer& w, const call_shape& s, std::uint64_t id, bool keep_alive) {
  auto& b = w.part();
  b.append(R"({"id":"chatcmpl-mock)");
  w.part_number(static_cast<long long>(id));
  b.append(R"(","object":"chat.completion","created":)");
  w.part_number(static_cast<long long>(std::time(nullptr)));
  b.append(R"(,"model":")");
  b.append(s.model);
  b.append(R"(","choices":[{"index":0,"message":{"role":"assistant","content":null,)"
           R"("tool_calls":[{"id":"call_mock)");
  w.part_number(static_cast<long long>(id));
  b.append(R"(","type":"function","function":{"name":"get_weather","arguments":")");
  b.append(tool_arguments);
  b.append(R"("}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":40,)"
           R"("completion_tokens":18,"total_tokens":58,"prompt_tokens_details":)"
           R"({"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}})");
  w.answer("200 OK", "application/json", keep_alive);
}

void append_chunk_prefix(writer& w, const call_shape& s, std::uint64_t id, std::time_t created);

/// A streamed tool call as OpenAI sends it: the call's id and name first, then its arguments
/// in `n` fragments, the last one with finish_reason tool_calls.
void append_tool_events(writer& w, const call_shape& s, std::uint64_t id, std::time_t created,
                        int n) {
  append_chunk_prefix(w, s, id, created);
  auto& b = w.part();
  b.append(R"("choices":[{"index":0,"delta":{"role":"assistant","content":null,)"
           R"("tool_calls":[{"index":0,"id":"call_mock)");
  w.part_number(static_cast<long long>(id));
  b.append(R"(","type":"function","function":{"name":"get_weather","arguments":""}}]},)"
           R"("finish_reason":null}]})");
  b.append("\n\n");
  w.chunk();
  std::size_t from = 0;
  for (int i = 0; i < n; ++i) {
    // Cut between escapes: a fragment never ends inside `\"`.
    std::size_t to = i + 1 == n ? tool_arguments.size() : tool_arguments.size() * (i + 1) / n;
    while (to < tool_arguments.size() && to > 0 && tool_arguments[to - 1] == '\\') ++to;
    if (to < from) to = from;
    append_chunk_prefix(w, s, id, created);
    b.append(
        R"("choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":")");
    b.append(tool_arguments.substr(from, to - from));
    b.append(i + 1 == n ? R"("}}]},"finish_reason":"tool_calls"}]})"
                        : R"("}}]},"finish_reason":null}]})");
    b.append("\n\n");
    w.chunk();
    from = to;
  }
}

void append_chunk_prefix(writer& w, const call_shape& s, std::uint64_t id, std::time_t created) {
  auto& b = w.part();
  b.append(R"(data: {"id":"chatcmpl-mock)");
  w.part_number(static_cast<long long>(id));
  b.append(R"(","object":"chat.completion.chunk","created":)");
  w.part_number(static_cast<long long>(created));
  b.append(R"(,"model":")");
  b.append(s.model);
  b.append(R"(",)");
}

/// One SSE event (one content delta, index i of n) as one HTTP chunk.
/// `stamp`: the content ends with "@<microseconds since the epoch>" of the moment it is
/// written, so a client on the same machine can measure each chunk's delivery latency.
void append_delta_event(writer& w, const call_shape& s, std::uint64_t id, std::time_t created,
                        int i, int n, bool stamp = false) {
  append_chunk_prefix(w, s, id, created);
  auto& b = w.part();
  b.append(R"("choices":[{"index":0,"delta":{)");
  if (i == 0) b.append(R"("role":"assistant",)");
  b.append(R"("content":")");
  b.append(token_text);
  if (stamp) {
    auto now = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    b.append("@").append(std::to_string(now.count()));
  }
  b.append(i + 1 == n ? R"("},"finish_reason":"stop"}]})" : R"("},"finish_reason":null}]})");
  b.append("\n\n");
  w.chunk();
}

/// The usage event (empty choices, as with stream_options.include_usage), [DONE] and the
/// terminating zero-length chunk.
void append_stream_tail(writer& w, const call_shape& s, std::uint64_t id, std::time_t created,
                        int n) {
  append_chunk_prefix(w, s, id, created);
  auto& b = w.part();
  b.append(R"("choices":[],"usage":{"prompt_tokens":12,"completion_tokens":)");
  w.part_number(n);
  b.append(R"(,"total_tokens":)");
  w.part_number(n + 12);
  b.append("}}\n\n");
  w.chunk();
  b.append("data: [DONE]\n\n");
  w.chunk();
  w.append("0\r\n\r\n");
}

void append_stream_head(writer& w, bool keep_alive) {
  w.append(
      "HTTP/1.1 200 OK\r\nServer: nyxgate-mock\r\nContent-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n");
  if (!keep_alive) w.append("Connection: close\r\n");
  w.append("\r\n");
}

constexpr std::string_view models_body =
    R"({"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1700000000,)"
    R"("owned_by":"nyxgate-mock"},{"id":"gpt-4o","object":"model","created":1700000000,)"
    R"("owned_by":"nyxgate-mock"}]})";
constexpr std::string_view unauthorized_body =
    R"({"error":{"message":"You didn't provide an API key.","type":"invalid_request_error",)"
    R"("param":null,"code":null}})";
constexpr std::string_view not_found_body =
    R"({"error":{"message":"Unknown request URL.","type":"invalid_request_error",)"
    R"("param":null,"code":"unknown_url"}})";

void append_json_answer(writer& w, std::string_view status, bool keep_alive,
                        std::string_view body) {
  w.part().append(body);
  w.answer(status, "application/json", keep_alive);
}

int header_int(const http::request<http::string_body>& req, std::string_view name, int fallback,
               int hi) {
  auto it = req.find(name);
  if (it == req.end()) return fallback;
  auto v = to_int(std::string_view(it->value().data(), it->value().size()), 0, hi);
  return v ? *v : fallback;
}

std::atomic<std::uint64_t> next_id{1};

template <class Stream>
asio::awaitable<void> serve_requests(Stream& stream, const options& opt) {
  beast::flat_buffer in;
  writer w;
  asio::steady_timer delay(co_await asio::this_coro::executor);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(body_limit);
    beast::get_lowest_layer(stream).expires_after(idle_timeout);
    auto [rec, rn] = co_await http::async_read(stream, in, parser, tok);
    if (rec) co_return;
    beast::get_lowest_layer(stream).expires_never();
    const auto& req = parser.get();
    const bool keep_alive = req.keep_alive();
    std::string_view target(req.target().data(), req.target().size());
    w.clear();

    if (target == "/v1/models" && req.method() == http::verb::get) {
      append_json_answer(w, "200 OK", keep_alive, models_body);
    } else if (target == "/v1/chat/completions" && req.method() == http::verb::post) {
      if (req.find(http::field::authorization) == req.end()) {
        append_json_answer(w, "401 Unauthorized", keep_alive, unauthorized_body);
      } else {
        auto shape = read_shape(req.body());
        int n = header_int(req, "x-mock-chunks", opt.chunks, max_chunks);
        int delay_ms = header_int(req, "x-mock-chunk-delay-ms", opt.chunk_delay_ms, max_delay_ms);
        auto id = next_id.fetch_add(1, std::memory_order_relaxed);
        if (shape.tools && !shape.stream) {
          append_tool_completion(w, shape, id, keep_alive);
        } else if (shape.tools) {
          auto created = std::time(nullptr);
          append_stream_head(w, keep_alive);
          append_tool_events(w, shape, id, created, n);
          append_stream_tail(w, shape, id, created, n);
        } else if (!shape.stream) {
          append_completion(w, shape, n, id, keep_alive);
        } else {
          auto created = std::time(nullptr);
          append_stream_head(w, keep_alive);
          if (delay_ms == 0) {
            // No pacing asked: the whole stream in one write.
            for (int i = 0; i < n; ++i) append_delta_event(w, shape, id, created, i, n);
          } else {
            // Headers go first; each event follows after its delay, as a model would emit.
            for (int i = 0; i < n; ++i) {
              auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(w.buf()), tok);
              if (wec) co_return;
              w.clear();
              delay.expires_after(std::chrono::milliseconds(delay_ms));
              co_await delay.async_wait(tok);
              append_delta_event(w, shape, id, created, i, n, true);
            }
          }
          append_stream_tail(w, shape, id, created, n);
        }
      }
    } else {
      append_json_answer(w, "404 Not Found", keep_alive, not_found_body);
    }
    auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(w.buf()), tok);
    if (wec || !keep_alive) co_return;
  }
}

asio::awaitable<void> serve_plain(tcp::socket socket, const options& opt) {
  beast::tcp_stream stream(std::move(socket));
  co_await serve_requests(stream, opt);
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> serve_tls(tcp::socket socket, asio::ssl::context& ctx, const options& opt) {
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), ctx);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, tok);
  if (hec) co_return;
  co_await serve_requests(stream, opt);
  // No close_notify exchange: clients of a benchmark drop the connection anyway.
}

asio::awaitable<void> accept_loop(tcp::acceptor acceptor, asio::ssl::context* ctx,
                                  const options& opt) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(tok);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // EMFILE and the like: keep serving the open connections, retry a little later.
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(10));
      co_await pause.async_wait(tok);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto ex = acceptor.get_executor();
    if (ctx)
      asio::co_spawn(ex, serve_tls(std::move(socket), *ctx, opt), asio::detached);
    else
      asio::co_spawn(ex, serve_plain(std::move(socket), opt), asio::detached);
  }
}

tcp::acceptor make_acceptor(asio::io_context& io, const tcp::endpoint& ep) {
  tcp::acceptor a(io);
  a.open(ep.protocol());
  a.set_option(tcp::acceptor::reuse_address(true));
  a.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
  a.bind(ep);
  a.listen(asio::socket_base::max_listen_connections);
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  auto opt = parse_args(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<asio::ssl::context> ctx;
  if (!opt.plain) {
    ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    try {
      ctx->use_certificate_chain_file(opt.cert);
      ctx->use_private_key_file(opt.key, asio::ssl::context::pem);
    } catch (const std::exception& e) {
      std::cerr << "nyxgate_mock_upstream: cannot load the TLS certificate or key: " << e.what()
                << "\n";
      return 2;
    }
  }

  // One io_context per thread, each with its own acceptor on the same port (SO_REUSEPORT):
  // no handler ever crosses threads, so nothing needs a strand or a lock.
  std::vector<std::unique_ptr<asio::io_context>> ios;
  for (int i = 0; i < opt.threads; ++i) ios.push_back(std::make_unique<asio::io_context>(1));
  tcp::endpoint ep;
  try {
    ep = tcp::endpoint(asio::ip::make_address(opt.host), opt.port);
    auto first = make_acceptor(*ios[0], ep);
    ep = first.local_endpoint();  // port 0: the others join the port the kernel picked
    asio::co_spawn(*ios[0], accept_loop(std::move(first), ctx.get(), opt), asio::detached);
    for (int i = 1; i < opt.threads; ++i)
      asio::co_spawn(*ios[i], accept_loop(make_acceptor(*ios[i], ep), ctx.get(), opt),
                     asio::detached);
  } catch (const std::exception& e) {
    std::cerr << "nyxgate_mock_upstream: cannot listen: " << e.what() << "\n";
    return 1;
  }

  if (!opt.port_file.empty()) {
    std::ofstream(opt.port_file) << ep.port() << "\n";
  }
  std::cout << "nyxgate_mock_upstream listening on " << ep << (opt.plain ? " (http)" : " (https)")
            << " threads=" << opt.threads << std::endl;

  asio::signal_set signals(*ios[0], SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    for (auto& io : ios) io->stop();
  });

  std::vector<std::thread> threads;
  for (int i = 1; i < opt.threads; ++i) threads.emplace_back([&io = *ios[i]] { io.run(); });
  ios[0]->run();
  for (auto& t : threads) t.join();
  return 0;
}
