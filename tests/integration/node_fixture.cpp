#include "tests/integration/node_fixture.hpp"

#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "app/init.hpp"
#include "identity/token.hpp"
#include "tests/integration/pg_fixture.hpp"

namespace nyxgate::testing {

namespace {

/// The writer a streamed answer goes to: collects the text and splits it into events.
class collecting_stream final : public net::response_writer, public event_stream {
 public:
  explicit collecting_stream(std::shared_ptr<net::disconnect_signal> gone)
      : gone_(std::move(gone)) {}

  bool write(std::string piece) override {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    text_ += piece;
    changed_.notify_all();
    return true;
  }
  void finish() override {
    std::lock_guard lock(mutex_);
    finished_ = true;
    changed_.notify_all();
  }
  std::size_t queued_bytes() const override { return 0; }
  void on_drained(std::function<void()>) override {}

  std::optional<sse_event> next(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout,
                      [&] { return text_.find("\n\n", read_) != std::string::npos || finished_; });
    auto end = text_.find("\n\n", read_);
    if (end == std::string::npos) return std::nullopt;
    sse_event ev;
    std::string_view block{text_.data() + read_, end - read_};
    read_ = end + 2;
    while (!block.empty()) {
      auto nl = block.find('\n');
      auto line = block.substr(0, nl);
      block = nl == std::string_view::npos ? std::string_view{} : block.substr(nl + 1);
      if (line.starts_with("event: ")) ev.name = line.substr(7);
      if (line.starts_with("data: ")) ev.data = line.substr(6);
    }
    // An empty block (the blank line after an event's own one) is no event.
    if (ev.name.empty() && ev.data.empty()) return next(timeout);
    return ev;
  }
  bool finished() const override {
    std::lock_guard lock(mutex_);
    return finished_;
  }
  void close() override {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    gone_->fire();
  }
  std::string text() const {
    std::lock_guard lock(mutex_);
    return text_;
  }

 private:
  std::shared_ptr<net::disconnect_signal> gone_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string text_;
  std::size_t read_ = 0;
  bool finished_ = false;
  bool closed_ = false;
};

net::http_request make_request(const std::string& method, const std::string& target,
                               const std::string& token, const std::string& body) {
  net::http_request req;
  req.method = method;
  req.target = target;
  req.body = body;
  req.request_id = identity::new_request_id();
  req.received_at = std::chrono::steady_clock::now();
  if (!token.empty()) req.headers.emplace_back("authorization", "Bearer " + token);
  if (!body.empty()) req.headers.emplace_back("content-type", "application/json");
  return req;
}

}  // namespace

node_fixture::node_fixture() : node_fixture(fresh_database(), {}) {}

node_fixture::node_fixture(const settings_change& change)
    : node_fixture(fresh_database(), {}, change) {}

node_fixture::node_fixture(const std::string& conninfo, const std::string& master_key_file,
                           const settings_change& change) {
  conninfo_ = conninfo;
  settings_.server.data_dir = temp_dir();
  settings_.security.master_key_file = master_key_file;
  settings_.database.url = conninfo_;
  settings_.database.pool_size = 2;
  settings_.server.listen = "127.0.0.1:0";
  settings_.server.threads = 2;
  settings_.server.shutdown_grace_ms = 2000;
  if (change) change(settings_);
  node_ = std::make_unique<app::node>(settings_);
}

node_fixture::~node_fixture() {
  node_->shutdown();
}

http_reply node_fixture::request(const std::string& method, const std::string& target,
                                 const std::string& token, const std::string& body) {
  auto req = make_request(method, target, token, body);
  auto gone = req.disconnected;
  auto promise = std::make_shared<std::promise<net::http_response>>();
  auto future = promise->get_future();
  node_->handler()(std::move(req),
                   [promise](net::http_response r) { promise->set_value(std::move(r)); });
  BOOST_REQUIRE(future.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  auto r = future.get();
  http_reply out;
  out.status = r.status;
  out.raw = r.body;
  boost::system::error_code ec;
  if (!r.stream) {
    out.body = boost::json::parse(r.body, ec);
    return out;
  }
  auto events = std::make_shared<collecting_stream>(gone);
  r.stream(events);
  boost::json::array data;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!events->finished() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  BOOST_REQUIRE_MESSAGE(events->finished(), target << ": the stream did not end");
  out.raw = events->text();
  out.body = boost::json::object{{"result", boost::json::object{{"data", nullptr}}}};
  while (auto ev = events->next(std::chrono::milliseconds(0))) {
    if (ev->name == "serialized-error") {
      auto error = boost::json::parse(ev->data, ec);
      out.status = static_cast<unsigned>(error.at("data").at("httpStatus").to_number<double>());
      out.body = boost::json::object{{"error", std::move(error)}};
      return out;
    }
    if (ev->name.empty()) data.push_back(boost::json::parse(ev->data, ec));
  }
  out.body.as_object()["result"].as_object()["data"] = std::move(data);
  return out;
}

std::shared_ptr<event_stream> node_fixture::subscribe(const std::string& path,
                                                      const std::string& token,
                                                      const std::string& input) {
  auto req = make_request("GET", "/trpc/" + path + "?input=" + url_encode(input), token, {});
  auto gone = req.disconnected;
  auto promise = std::make_shared<std::promise<net::http_response>>();
  auto future = promise->get_future();
  node_->handler()(std::move(req),
                   [promise](net::http_response r) { promise->set_value(std::move(r)); });
  BOOST_REQUIRE(future.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  auto r = future.get();
  if (!r.stream) return nullptr;
  auto events = std::make_shared<collecting_stream>(gone);
  r.stream(events);
  return events;
}

http_reply node_fixture::query(const std::string& path, const std::string& token,
                               const std::string& input) {
  std::string target = "/trpc/" + path;
  if (!input.empty()) target += "?input=" + url_encode(input);
  return request("GET", target, token);
}

http_reply node_fixture::mutate(const std::string& path, const std::string& token,
                                const std::string& input) {
  return request("POST", "/trpc/" + path, token, input);
}

std::string node_fixture::seed_tenant(const std::string& slug, const std::string& owner_email) {
  app::init_request req;
  req.tenant_slug = slug;
  req.tenant_name = "Tenant " + slug;
  req.admin_email = owner_email;
  auto r = app::run_init(node_->db(), req);
  BOOST_REQUIRE_MESSAGE(r.outcome == app::init_outcome::created, r.message);
  return r.token;
}

std::string node_fixture::add_user_with_token(const std::string& slug, const std::string& email,
                                              const std::string& role) {
  auto token = identity::generate_token();
  sql(conninfo_,
      "INSERT INTO users (email, name) VALUES ('" + email + "', 'U') ON CONFLICT DO NOTHING");
  sql(conninfo_, "INSERT INTO memberships (tenant_id, user_id, role) SELECT t.id, u.id, '" + role +
                     "' FROM tenants t, users u WHERE t.slug = '" + slug + "' AND u.email = '" +
                     email + "'");
  sql(conninfo_,
      "INSERT INTO access_tokens (tenant_id, user_id, name, token_hash) SELECT t.id, u.id, 't', '" +
          identity::sha256_hex(token) + "' FROM tenants t, users u WHERE t.slug = '" + slug +
          "' AND u.email = '" + email + "'");
  return token;
}

std::string url_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace nyxgate::testing
