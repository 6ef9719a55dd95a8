#include "config/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string_view>
#include <type_traits>
#include <variant>

#include <toml++/toml.h>

extern char** environ;

namespace nyxgate::config {

namespace {

constexpr std::string_view env_prefix = "NYXGATE_";
constexpr std::string_view config_env_name = "NYXGATE_CONFIG";

enum class value_kind { string, integer, boolean };
using value = std::variant<std::string, std::int64_t, bool>;

/// Accepts (and may normalise) a value; returns why it is refused, or "" when it is accepted.
using check_fn = std::function<std::string(value&)>;

struct rule {
  std::string text;  // shown in help, e.g. "1..64"
  check_fn check;
};

/// One line of the table that drives TOML, environment, flags and help.
struct key_descriptor {
  std::string key;          // "server.listen"
  std::string placeholder;  // "<host:port>"
  std::string description;
  value_kind kind = value_kind::string;
  rule constraint;
  std::function<void(settings&, value)> write;
  std::function<value(const settings&)> read;
  std::string env_name;  // "NYXGATE_SERVER_LISTEN"
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string env_name_of(std::string_view key) {
  std::string out(env_prefix);
  for (char c : key)
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string_view kind_name(value_kind kind) {
  switch (kind) {
    case value_kind::string:
      return "a string";
    case value_kind::integer:
      return "an integer";
    case value_kind::boolean:
      return "a boolean";
  }
  return "a value";
}

// ---- rules -------------------------------------------------------------------------------

rule any_value() {
  return {"", [](value&) { return std::string{}; }};
}

rule between(std::int64_t lo, std::int64_t hi) {
  return {std::to_string(lo) + ".." + std::to_string(hi), [lo, hi](value& v) {
            auto n = std::get<std::int64_t>(v);
            if (n < lo || n > hi)
              return "must be between " + std::to_string(lo) + " and " + std::to_string(hi);
            return std::string{};
          }};
}

rule non_empty() {
  return {"not empty", [](value& v) {
            return std::get<std::string>(v).empty() ? std::string{"must not be empty"}
                                                    : std::string{};
          }};
}

rule one_of(std::vector<std::string> choices) {
  std::string text;
  for (const auto& c : choices) text += (text.empty() ? "" : "|") + c;
  return {text, [choices, text](value& v) {
            const auto& s = std::get<std::string>(v);
            if (std::find(choices.begin(), choices.end(), s) != choices.end()) return std::string{};
            return "must be one of " + text;
          }};
}

bool is_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string check_listen(std::string_view s) {
  constexpr std::string_view shape = "must be host:port with port 0..65535";
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::string(shape);
  auto host = s.substr(0, colon);
  auto port = s.substr(colon + 1);
  if (host.empty()) return std::string(shape) + "; the host is empty";
  if (host.front() == '[') {
    auto inner = host.size() >= 2 && host.back() == ']' ? host.substr(1, host.size() - 2)
                                                        : std::string_view{};
    bool ipv6 = inner.find(':') != std::string_view::npos &&
                std::all_of(inner.begin(), inner.end(), [](unsigned char c) {
                  return std::isxdigit(c) || c == ':' || c == '.';
                });
    if (!ipv6) return std::string(shape) + "; bad bracketed IPv6 address";
  } else if (host.find(':') != std::string_view::npos) {
    return std::string(shape) + "; put an IPv6 address in brackets, like [::1]:8080";
  } else if (!std::all_of(host.begin(), host.end(), [](unsigned char c) {
               return std::isalnum(c) || c == '.' || c == '-' || c == '_';
             })) {
    return std::string(shape) + "; bad host name";
  }
  if (!is_digits(port) || port.size() > 5) return std::string(shape);
  int number = 0;
  std::from_chars(port.data(), port.data() + port.size(), number);
  if (number > 65535) return std::string(shape);
  return {};
}

rule listen_address() {
  return {"host:port", [](value& v) { return check_listen(std::get<std::string>(v)); }};
}

/// A provider base URL: http(s), a host, no query or fragment. Trailing slashes are dropped so
/// adapters can append paths.
std::string check_http_url(std::string& s) {
  auto lowered = lower(s);
  std::size_t scheme = lowered.starts_with("https://") ? 8 : lowered.starts_with("http://") ? 7 : 0;
  if (scheme == 0) return "must be an http:// or https:// URL";
  if (std::any_of(s.begin(), s.end(),
                  [](unsigned char c) { return std::isspace(c) || std::iscntrl(c); }))
    return "must be a URL without spaces or control characters";
  auto rest = std::string_view(s).substr(scheme);
  auto authority = rest.substr(0, rest.find('/'));
  if (authority.empty() || authority.front() == ':')
    return "must be a URL with a host after the scheme";
  if (rest.find_first_of("?#") != std::string_view::npos)
    return "must be a URL without a query or fragment";
  if (auto colon = authority.rfind(':');
      colon != std::string_view::npos && authority.back() != ']' &&
      (!is_digits(authority.substr(colon + 1)) || authority.size() - colon - 1 > 5))
    return "must be a URL with a numeric port";
  auto keep = scheme + authority.size();
  while (s.size() > keep && s.back() == '/') s.pop_back();
  return {};
}

rule http_url() {
  return {"http(s)://host[:port][/path]",
          [](value& v) { return check_http_url(std::get<std::string>(v)); }};
}

/// Empty selects the embedded cluster; otherwise anything libpq takes as a connection string.
rule database_url() {
  return {"empty, postgresql://... or key=value", [](value& v) {
            const auto& s = std::get<std::string>(v);
            auto l = lower(s);
            if (s.empty() || l.starts_with("postgresql://") || l.starts_with("postgres://") ||
                s.find('=') != std::string::npos)
              return std::string{};
            return std::string{
                "must be empty (embedded), a postgresql:// URL or a libpq key=value string"};
          }};
}

// ---- the table ---------------------------------------------------------------------------

/// Binds a key to a field reached through a path of pointers to members, e.g.
/// (&settings::providers, &providers_settings::openai, &provider_settings::base_url).
template <class... Path>
key_descriptor describe(std::string key, std::string placeholder, rule constraint,
                        std::string description, Path... path) {
  using field = std::remove_cvref_t<decltype((std::declval<settings&>().*....*path))>;
  key_descriptor d;
  d.key = std::move(key);
  d.placeholder = std::move(placeholder);
  d.description = std::move(description);
  d.constraint = std::move(constraint);
  d.env_name = env_name_of(d.key);
  if constexpr (std::is_same_v<field, std::string>) {
    d.kind = value_kind::string;
  } else if constexpr (std::is_same_v<field, bool>) {
    d.kind = value_kind::boolean;
  } else {
    static_assert(std::is_integral_v<field>);
    d.kind = value_kind::integer;
  }
  d.write = [path...](settings& s, value v) {
    auto& f = (s.*....*path);
    if constexpr (std::is_same_v<field, std::string>)
      f = std::get<std::string>(std::move(v));
    else if constexpr (std::is_same_v<field, bool>)
      f = std::get<bool>(v);
    else  // the rule has checked the range, so the narrowing is exact
      f = static_cast<field>(std::get<std::int64_t>(v));
  };
  d.read = [path...](const settings& s) -> value {
    const auto& f = (s.*....*path);
    if constexpr (std::is_same_v<field, std::string> || std::is_same_v<field, bool>)
      return value{std::in_place_type<field>, f};
    else
      return value{std::in_place_type<std::int64_t>, f};
  };
  return d;
}

constexpr std::int64_t kib = 1024;
constexpr std::int64_t mib = 1024 * kib;
constexpr std::int64_t gib = 1024 * mib;
constexpr std::int64_t day_ms = 24LL * 3600 * 1000;

const std::vector<key_descriptor>& keys() {
  using S = settings;
  static const std::vector<key_descriptor> table{
      describe("server.listen", "<host:port>", listen_address(), "address to listen on", &S::server,
               &server_settings::listen),
      describe("server.data_dir", "<path>", non_empty(),
               "data folder (embedded PostgreSQL, master key)", &S::server,
               &server_settings::data_dir),
      describe("server.threads", "<n>", between(1, 64), "I/O threads", &S::server,
               &server_settings::threads),
      describe("server.actor_threads", "<n>", between(0, 64),
               "actor scheduler threads (work sharing); 0 runs actors on the I/O threads",
               &S::server, &server_settings::actor_threads),
      describe("server.max_connections", "<n>", between(1, 1000000),
               "open client connections before new ones are refused", &S::server,
               &server_settings::max_connections),
      describe("server.header_timeout_ms", "<ms>", between(1, 3600000),
               "time allowed to receive request headers", &S::server,
               &server_settings::header_timeout_ms),
      describe("server.idle_timeout_ms", "<ms>", between(1, day_ms),
               "idle keep-alive connection lifetime", &S::server,
               &server_settings::idle_timeout_ms),
      describe("server.request_timeout_ms", "<ms>", between(1, day_ms),
               "time allowed to read a request body and answer a non-streaming call", &S::server,
               &server_settings::request_timeout_ms),
      describe("server.shutdown_grace_ms", "<ms>", between(0, 3600000),
               "drain period for in-flight calls after SIGTERM", &S::server,
               &server_settings::shutdown_grace_ms),

      describe("database.url", "<url>", database_url(),
               "PostgreSQL connection string; empty starts an embedded cluster", &S::database,
               &database_settings::url),
      describe("database.pool_size", "<n>", between(1, 64), "database connections per node",
               &S::database, &database_settings::pool_size),
      describe("database.connect_timeout_ms", "<ms>", between(1, 600000),
               "deadline for opening a database connection", &S::database,
               &database_settings::connect_timeout_ms),
      describe("database.query_timeout_ms", "<ms>", between(1, day_ms),
               "deadline for one database query", &S::database,
               &database_settings::query_timeout_ms),
      describe("database.embedded_fast_unsafe", "<bool>", any_value(),
               "embedded cluster without fsync (tests only: loses data on a crash)", &S::database,
               &database_settings::embedded_fast_unsafe),
      describe("database.embedded_max_restarts", "<n>", between(0, 1000),
               "failed restarts in a row of a dead embedded cluster before nyxgate exits non-zero",
               &S::database, &database_settings::embedded_max_restarts),
      describe("database.embedded_restart_backoff_ms", "<ms>", between(1, 3600000),
               "wait before restarting a dead embedded cluster; doubles after each failed restart",
               &S::database, &database_settings::embedded_restart_backoff_ms),
      describe("database.embedded_restart_backoff_max_ms", "<ms>", between(1, 3600000),
               "longest wait between restart attempts of the embedded cluster", &S::database,
               &database_settings::embedded_restart_backoff_max_ms),

      describe("security.master_key_file", "<path>", any_value(),
               "master key file; empty means <data_dir>/master.key", &S::security,
               &security_settings::master_key_file),
      describe("tls.ca_file", "<path>", any_value(),
               "extra trusted CA bundle (PEM) for upstream connections", &S::tls,
               &tls_settings::ca_file),

      describe("providers.openai.base_url", "<url>", http_url(), "OpenAI API base URL",
               &S::providers, &providers_settings::openai, &provider_settings::base_url),
      describe("providers.anthropic.base_url", "<url>", http_url(), "Anthropic API base URL",
               &S::providers, &providers_settings::anthropic, &provider_settings::base_url),
      describe("providers.google.base_url", "<url>", http_url(), "Google Gemini API base URL",
               &S::providers, &providers_settings::google, &provider_settings::base_url),
      describe("providers.kimi.base_url", "<url>", http_url(), "Kimi (Moonshot) API base URL",
               &S::providers, &providers_settings::kimi, &provider_settings::base_url),
      describe("providers.github.base_url", "<url>", http_url(), "GitHub API base URL",
               &S::providers, &providers_settings::github, &provider_settings::base_url),

      describe("gateway.retries", "<n>", between(0, 10),
               "extra upstream attempts after a failed one", &S::gateway,
               &gateway_settings::retries),
      describe("gateway.timeout_ms", "<ms>", between(1, day_ms),
               "deadline for one completion call, retries included", &S::gateway,
               &gateway_settings::timeout_ms),
      describe("gateway.key_cooldown_s", "<s>", between(0, 86400),
               "how long a rate-limited or failing provider key is skipped", &S::gateway,
               &gateway_settings::key_cooldown_s),
      describe("gateway.backoff_base_ms", "<ms>", between(0, 60000),
               "first retry backoff ceiling (doubles per retry, full jitter)", &S::gateway,
               &gateway_settings::backoff_base_ms),
      describe("gateway.backoff_cap_ms", "<ms>", between(0, 600000),
               "largest retry backoff ceiling", &S::gateway, &gateway_settings::backoff_cap_ms),
      describe("gateway.retry_after_cap_ms", "<ms>", between(0, 600000),
               "longest provider Retry-After honoured; a longer one moves on at once", &S::gateway,
               &gateway_settings::retry_after_cap_ms),
      describe("gateway.stream_idle_timeout_ms", "<ms>", between(1, day_ms),
               "a provider stream without content this long counts as broken", &S::gateway,
               &gateway_settings::stream_idle_timeout_ms),

      describe("circuit.failure_threshold", "<n>", between(0, 1000),
               "consecutive retryable failures that open a provider's circuit; 0 never opens",
               &S::circuit, &circuit_settings::failure_threshold),
      describe("circuit.cooldown_s", "<s>", between(1, 86400),
               "how long an open circuit fails attempts at once before one probe goes through",
               &S::circuit, &circuit_settings::cooldown_s),

      describe("limits.max_body_bytes", "<bytes>", between(kib, gib), "largest request body",
               &S::limits, &limits_settings::max_body_bytes),
      describe("limits.max_header_bytes", "<bytes>", between(kib, mib),
               "largest request header block", &S::limits, &limits_settings::max_header_bytes),
      describe("limits.max_url_bytes", "<bytes>", between(256, mib), "longest request target",
               &S::limits, &limits_settings::max_url_bytes),
      describe("limits.max_json_depth", "<n>", between(1, 1024), "deepest JSON nesting accepted",
               &S::limits, &limits_settings::max_json_depth),
      describe("limits.ws_max_message_bytes", "<bytes>", between(kib, gib),
               "largest WebSocket message", &S::limits, &limits_settings::ws_max_message_bytes),

      describe("websocket.max_streams", "<n>", between(1, 1024),
               "chat streams one WebSocket may run at once", &S::websocket,
               &websocket_settings::max_streams),
      describe("websocket.auth_timeout_ms", "<ms>", between(100, 600000),
               "time a WebSocket has to authenticate by its first message", &S::websocket,
               &websocket_settings::auth_timeout_ms),
      describe("websocket.idle_timeout_ms", "<ms>", between(1000, day_ms),
               "a silent WebSocket peer is pinged after half of this and closed after all",
               &S::websocket, &websocket_settings::idle_timeout_ms),
      describe("websocket.max_queued_bytes", "<bytes>", between(64 * kib, gib),
               "outbound bytes one WebSocket may queue before it is closed as a stuck reader",
               &S::websocket, &websocket_settings::max_queued_bytes),
      describe("websocket.stuck_timeout_ms", "<ms>", between(100, day_ms),
               "a back-pressured WebSocket reader that does not read for this long is closed",
               &S::websocket, &websocket_settings::stuck_timeout_ms),

      describe("identity.token_cache_ttl_ms", "<ms>", between(100, day_ms),
               "longest a node trusts a cached token without asking the database", &S::identity,
               &identity_settings::token_cache_ttl_ms),
      describe("identity.negative_cache_ttl_ms", "<ms>", between(0, 600000),
               "how long an unknown token is refused without a database query (0: never)",
               &S::identity, &identity_settings::negative_cache_ttl_ms),
      describe("identity.negative_cache_entries", "<n>", between(0, 10000000),
               "most unknown tokens remembered at once", &S::identity,
               &identity_settings::negative_cache_entries),
      describe("identity.invite_ttl_s", "<s>", between(60, 365 * 86400),
               "how long a member's invite code stays valid", &S::identity,
               &identity_settings::invite_ttl_s),

      describe("usage.retention_days", "<days>", between(0, 36500),
               "usage rows older than this are deleted (hourly, in batches); 0 keeps every row",
               &S::usage, &usage_settings::retention_days),

      describe("workflows.node_concurrency", "<n>", between(1, 1024),
               "workflow items one node runs at once", &S::workflows,
               &workflows_settings::node_concurrency),
      describe("workflows.tenant_concurrency", "<n>", between(1, 1024),
               "workflow items of one tenant running at once over all nodes", &S::workflows,
               &workflows_settings::tenant_concurrency),
      describe("workflows.run_concurrency", "<n>", between(1, 1024),
               "workflow items of one run running at once over all nodes", &S::workflows,
               &workflows_settings::run_concurrency),
      describe("workflows.lease_s", "<s>", between(3, 3600),
               "lease of a claimed workflow item, renewed every third of it", &S::workflows,
               &workflows_settings::lease_s),
      describe("workflows.poll_ms", "<ms>", between(10, 600000),
               "how often an idle node looks for workflow items (a wake notice also does)",
               &S::workflows, &workflows_settings::poll_ms),
      describe("workflows.context_chars", "<chars>", between(1000, 10000000),
               "most characters of material in one workflow call; longer docs are split",
               &S::workflows, &workflows_settings::context_chars),

      describe("log.level", "<level>", one_of({"debug", "info", "warn", "error"}),
               "least severe log level written", &S::log, &log_settings::level),
  };
  return table;
}

const key_descriptor* find_key(std::string_view key) {
  for (const auto& d : keys())
    if (d.key == key) return &d;
  return nullptr;
}

const key_descriptor* find_env(std::string_view name) {
  for (const auto& d : keys())
    if (d.env_name == name) return &d;
  return nullptr;
}

/// True for "server" or "providers.openai": a table that holds keys.
bool is_section(std::string_view path) {
  return std::any_of(keys().begin(), keys().end(), [&](const key_descriptor& d) {
    return d.key.size() > path.size() && d.key.starts_with(path) && d.key[path.size()] == '.';
  });
}

/// Names under NYXGATE_<SECTION>_ belong to us; other NYXGATE_* names (NYXGATE_BIN for the
/// test harness, NYXGATE_JOBS for the build script) are left to their owners.
bool in_config_namespace(std::string_view env_name) {
  return std::any_of(keys().begin(), keys().end(), [&](const key_descriptor& d) {
    auto section = env_name_of(d.key.substr(0, d.key.find('.'))) + "_";
    return env_name.starts_with(section);
  });
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

/// "unknown key", plus the nearest real name when a typo is likely.
std::string unknown(std::string_view name, bool env) {
  const key_descriptor* best = nullptr;
  std::size_t best_distance = 4;
  for (const auto& d : keys()) {
    auto distance = edit_distance(name, env ? d.env_name : d.key);
    if (distance < best_distance) best = &d, best_distance = distance;
  }
  std::string reason = "unknown key";
  if (best != nullptr) reason += " (did you mean " + (env ? best->env_name : best->key) + "?)";
  return reason;
}

// ---- reading values ----------------------------------------------------------------------

/// Environment and flag values arrive as text; integers are strict and booleans take
/// true/false/1/0/yes/no in any case.
value parse_text(const key_descriptor& d, std::string_view text, const std::string& source) {
  switch (d.kind) {
    case value_kind::string:
      return value{std::in_place_type<std::string>, text};
    case value_kind::integer: {
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec == std::errc::result_out_of_range)
        throw config_error(d.key, source, "is too large for an integer");
      if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
        throw config_error(d.key, source, "must be an integer");
      return value{std::in_place_type<std::int64_t>, n};
    }
    case value_kind::boolean: {
      auto l = lower(text);
      if (l == "true" || l == "1" || l == "yes") return value{std::in_place_type<bool>, true};
      if (l == "false" || l == "0" || l == "no") return value{std::in_place_type<bool>, false};
      throw config_error(d.key, source, "must be a boolean (true/false/1/0/yes/no)");
    }
  }
  throw config_error(d.key, source, "has an unsupported type");
}

void apply(const key_descriptor& d, value v, settings& s, const std::string& source,
           const std::string& where = {}) {
  if (auto reason = d.constraint.check(v); !reason.empty())
    throw config_error(d.key, source, reason + where);
  d.write(s, std::move(v));
}

std::string toml_type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date/time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string at_line(const toml::source_region& where) {
  return where.begin.line > 0 ? " at line " + std::to_string(where.begin.line) : std::string{};
}

void apply_toml(const toml::table& table, const std::string& prefix, settings& s,
                const std::string& source) {
  for (auto&& [k, node] : table) {
    std::string path = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const key_descriptor* d = find_key(path);
    if (d == nullptr) {
      if (is_section(path) && node.is_table()) {
        apply_toml(*node.as_table(), path, s, source);
        continue;
      }
      if (is_section(path))
        throw config_error(path, source,
                           "must be a table, not " + toml_type_name(node) + at_line(k.source()));
      throw config_error(path, source, unknown(path, false) + at_line(k.source()));
    }
    auto where = at_line(node.source());
    std::optional<value> v;
    if (d->kind == value_kind::string && node.is_string())
      v.emplace(std::in_place_type<std::string>, node.as_string()->get());
    else if (d->kind == value_kind::integer && node.is_integer())
      v.emplace(std::in_place_type<std::int64_t>, node.as_integer()->get());
    else if (d->kind == value_kind::boolean && node.is_boolean())
      v.emplace(std::in_place_type<bool>, node.as_boolean()->get());
    if (!v)
      throw config_error(
          path, source,
          "must be " + std::string(kind_name(d->kind)) + ", not " + toml_type_name(node) + where);
    apply(*d, std::move(*v), s, source, where);
  }
}

std::string read_file(const std::string& path, const std::string& source) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr)
    throw config_error("", source, std::string("cannot open: ") + std::strerror(errno));
  std::string text;
  char buffer[8192];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0)
    throw config_error("", source, std::string("cannot read: ") + std::strerror(error));
  return text;
}

void load_file(const std::string& path, settings& s) {
  std::string source = "file " + path;
  std::string text = read_file(path, source);
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw config_error("", source,
                       "invalid TOML at line " + std::to_string(at.line) + ", column " +
                           std::to_string(at.column) + ": " + std::string(e.description()));
  }
  apply_toml(table, "", s, source);
}

std::string show(const value& v) {
  if (auto* s = std::get_if<std::string>(&v)) return s->empty() ? "none" : *s;
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return std::to_string(std::get<std::int64_t>(v));
}

}  // namespace

config_error::config_error(std::string key_in, std::string source_in, std::string reason_in)
    : std::runtime_error((key_in.empty() ? "" : key_in + ": ") + reason_in + " (from " + source_in +
                         ")"),
      key(std::move(key_in)),
      source(std::move(source_in)),
      reason(std::move(reason_in)) {}

parsed_args split_args(const std::vector<std::string>& args) {
  parsed_args out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.rest.insert(out.rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    if (!arg.starts_with("--")) {
      out.rest.push_back(arg);
      continue;
    }
    auto body = std::string_view(arg).substr(2);
    auto eq = body.find('=');
    std::string name(body.substr(0, eq));
    bool is_config = name == "config";
    if (!is_config && name.find('.') == std::string::npos) {
      out.rest.push_back(arg);
      continue;
    }
    std::string text;
    if (eq != std::string_view::npos)
      text = body.substr(eq + 1);
    else if (i + 1 < args.size() && !args[i + 1].starts_with("--"))
      text = args[++i];
    else
      throw config_error(is_config ? "" : name, "flag --" + name,
                         "needs a value (--" + name + "=VALUE or --" + name + " VALUE)");
    if (is_config)
      out.config_file = std::move(text);
    else
      out.flags.push_back({std::move(name), std::move(text)});
  }
  return out;
}

environment process_environment() {
  environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view line(*entry);
    auto eq = line.find('=');
    if (eq == std::string_view::npos || !line.starts_with(env_prefix)) continue;
    env.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return env;
}

settings load(const std::optional<std::string>& config_file, const environment& env,
              const std::vector<flag>& flags) {
  settings s;

  std::optional<std::string> file = config_file;
  if (!file || file->empty()) {
    file.reset();
    for (const auto& [name, text] : env)
      if (name == config_env_name && !text.empty()) file = text;
  }
  if (file) load_file(*file, s);

  for (const auto& [name, text] : env) {
    if (!name.starts_with(env_prefix) || name == config_env_name) continue;
    std::string source = "environment " + name;
    const key_descriptor* d = find_env(name);
    if (d == nullptr) {
      if (!in_config_namespace(name)) continue;
      throw config_error(name, source, unknown(name, true));
    }
    apply(*d, parse_text(*d, text, source), s, source);
  }

  for (const auto& f : flags) {
    std::string source = "flag --" + f.key;
    const key_descriptor* d = find_key(f.key);
    if (d == nullptr) throw config_error(f.key, source, unknown(f.key, false));
    apply(*d, parse_text(*d, f.value, source), s, source);
  }
  return s;
}

std::string options_help() {
  const settings defaults;
  std::size_t width = std::string("--config <path>").size();
  for (const auto& d : keys()) width = std::max(width, d.key.size() + d.placeholder.size() + 3);
  width += 2;
  auto pad = [width](std::string s) {
    s.resize(std::max(width, s.size() + 1), ' ');
    return s;
  };

  std::string out;
  out += "  " + pad("--config <path>") + "TOML file to read\n";
  out += "  " + std::string(width, ' ') + "env " + std::string(config_env_name) + "\n";
  for (const auto& d : keys()) {
    out += "  " + pad("--" + d.key + " " + d.placeholder);
    out += "(default " + show(d.read(defaults)) + ")  " + d.description + "\n";
    out += "  " + std::string(width, ' ') + "env " + d.env_name;
    if (!d.constraint.text.empty()) out += "; allowed: " + d.constraint.text;
    out += "\n";
  }
  out +=
      "\nPrecedence: defaults < TOML file < environment < flags. A flag also reads "
      "--section.key VALUE.\n";
  return out;
}

namespace {

std::string toml_value(const value& v) {
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  std::string out = "\"";
  for (char c : std::get<std::string>(v)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace

std::string toml_template(const settings& values) {
  const settings defaults;
  std::string out =
      "# nyxgate configuration. Commented keys show their defaults; uncomment to change one.\n"
      "# Precedence: defaults < this file < environment (NYXGATE_SECTION_KEY) < flags\n"
      "# (--section.key). `nyxgate serve --help` lists the same keys.\n";
  std::string section;
  for (const auto& d : keys()) {
    auto dot = d.key.rfind('.');
    auto key_section = d.key.substr(0, dot);
    if (key_section != section) {
      section = key_section;
      out += "\n[" + section + "]\n";
    }
    auto current = d.read(values);
    out += "# " + d.description;
    if (!d.constraint.text.empty()) out += " (allowed: " + d.constraint.text + ")";
    out += "\n";
    if (current == d.read(defaults)) out += "# ";
    out += d.key.substr(dot + 1) + " = " + toml_value(current) + "\n";
  }
  return out;
}

const provider_settings* providers_settings::find(std::string_view id) const {
  if (id == "openai") return &openai;
  if (id == "anthropic") return &anthropic;
  if (id == "google") return &google;
  if (id == "kimi") return &kimi;
  if (id == "github") return &github;
  return nullptr;
}

}  // namespace nyxgate::config
