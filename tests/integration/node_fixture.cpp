#include "tests/integration/node_fixture.hpp"

#include <boost/test/unit_test.hpp>
#include <future>

#include "app/init.hpp"
#include "identity/token.hpp"
#include "tests/integration/pg_fixture.hpp"

namespace nyxgate::testing {

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
  net::http_request req;
  req.method = method;
  req.target = target;
  req.body = body;
  req.request_id = identity::new_request_id();
  req.received_at = std::chrono::steady_clock::now();
  if (!token.empty()) req.headers.emplace_back("authorization", "Bearer " + token);
  if (!body.empty()) req.headers.emplace_back("content-type", "application/json");
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
  out.body = boost::json::parse(r.body, ec);
  return out;
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
