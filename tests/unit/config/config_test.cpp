#include "config/config.hpp"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

namespace cfg = nyxgate::config;

namespace {

/// Every key the configuration must know, with its environment name and default as shown by
/// help; kept by hand so a key dropped from the table fails here.
struct expected_key {
  std::string key;
  std::string env;
  std::string shown_default;
};

const std::vector<expected_key> all_keys{
    {"server.listen", "NYXGATE_SERVER_LISTEN", "127.0.0.1:8080"},
    {"server.data_dir", "NYXGATE_SERVER_DATA_DIR", "./var"},
    {"server.threads", "NYXGATE_SERVER_THREADS", "2"},
    {"server.actor_threads", "NYXGATE_SERVER_ACTOR_THREADS", "0"},
    {"server.max_connections", "NYXGATE_SERVER_MAX_CONNECTIONS", "10000"},
    {"server.header_timeout_ms", "NYXGATE_SERVER_HEADER_TIMEOUT_MS", "10000"},
    {"server.idle_timeout_ms", "NYXGATE_SERVER_IDLE_TIMEOUT_MS", "60000"},
    {"server.request_timeout_ms", "NYXGATE_SERVER_REQUEST_TIMEOUT_MS", "30000"},
    {"server.shutdown_grace_ms", "NYXGATE_SERVER_SHUTDOWN_GRACE_MS", "10000"},
    {"database.url", "NYXGATE_DATABASE_URL", "none"},
    {"database.pool_size", "NYXGATE_DATABASE_POOL_SIZE", "4"},
    {"database.connect_timeout_ms", "NYXGATE_DATABASE_CONNECT_TIMEOUT_MS", "5000"},
    {"database.query_timeout_ms", "NYXGATE_DATABASE_QUERY_TIMEOUT_MS", "5000"},
    {"database.embedded_fast_unsafe", "NYXGATE_DATABASE_EMBEDDED_FAST_UNSAFE", "false"},
    {"database.embedded_max_restarts", "NYXGATE_DATABASE_EMBEDDED_MAX_RESTARTS", "5"},
    {"database.embedded_restart_backoff_ms", "NYXGATE_DATABASE_EMBEDDED_RESTART_BACKOFF_MS", "500"},
    {"database.embedded_restart_backoff_max_ms", "NYXGATE_DATABASE_EMBEDDED_RESTART_BACKOFF_MAX_MS",
     "30000"},
    {"security.master_key_file", "NYXGATE_SECURITY_MASTER_KEY_FILE", "none"},
    {"tls.ca_file", "NYXGATE_TLS_CA_FILE", "none"},
    {"providers.openai.base_url", "NYXGATE_PROVIDERS_OPENAI_BASE_URL", "https://api.openai.com"},
    {"providers.anthropic.base_url", "NYXGATE_PROVIDERS_ANTHROPIC_BASE_URL",
     "https://api.anthropic.com"},
    {"providers.google.base_url", "NYXGATE_PROVIDERS_GOOGLE_BASE_URL",
     "https://generativelanguage.googleapis.com"},
    {"providers.kimi.base_url", "NYXGATE_PROVIDERS_KIMI_BASE_URL", "https://api.moonshot.ai"},
    {"providers.github.base_url", "NYXGATE_PROVIDERS_GITHUB_BASE_URL", "https://api.github.com"},
    {"gateway.retries", "NYXGATE_GATEWAY_RETRIES", "2"},
    {"gateway.timeout_ms", "NYXGATE_GATEWAY_TIMEOUT_MS", "120000"},
    {"gateway.key_cooldown_s", "NYXGATE_GATEWAY_KEY_COOLDOWN_S", "300"},
    {"gateway.backoff_base_ms", "NYXGATE_GATEWAY_BACKOFF_BASE_MS", "100"},
    {"gateway.backoff_cap_ms", "NYXGATE_GATEWAY_BACKOFF_CAP_MS", "2000"},
    {"gateway.retry_after_cap_ms", "NYXGATE_GATEWAY_RETRY_AFTER_CAP_MS", "10000"},
    {"gateway.stream_idle_timeout_ms", "NYXGATE_GATEWAY_STREAM_IDLE_TIMEOUT_MS", "60000"},
    {"circuit.failure_threshold", "NYXGATE_CIRCUIT_FAILURE_THRESHOLD", "5"},
    {"circuit.cooldown_s", "NYXGATE_CIRCUIT_COOLDOWN_S", "30"},
    {"limits.max_body_bytes", "NYXGATE_LIMITS_MAX_BODY_BYTES", "1048576"},
    {"limits.max_header_bytes", "NYXGATE_LIMITS_MAX_HEADER_BYTES", "16384"},
    {"limits.max_url_bytes", "NYXGATE_LIMITS_MAX_URL_BYTES", "8192"},
    {"limits.max_json_depth", "NYXGATE_LIMITS_MAX_JSON_DEPTH", "64"},
    {"limits.ws_max_message_bytes", "NYXGATE_LIMITS_WS_MAX_MESSAGE_BYTES", "1048576"},
    {"websocket.max_streams", "NYXGATE_WEBSOCKET_MAX_STREAMS", "16"},
    {"websocket.auth_timeout_ms", "NYXGATE_WEBSOCKET_AUTH_TIMEOUT_MS", "5000"},
    {"websocket.idle_timeout_ms", "NYXGATE_WEBSOCKET_IDLE_TIMEOUT_MS", "60000"},
    {"websocket.max_queued_bytes", "NYXGATE_WEBSOCKET_MAX_QUEUED_BYTES", "4194304"},
    {"websocket.stuck_timeout_ms", "NYXGATE_WEBSOCKET_STUCK_TIMEOUT_MS", "10000"},
    {"identity.token_cache_ttl_ms", "NYXGATE_IDENTITY_TOKEN_CACHE_TTL_MS", "10000"},
    {"identity.negative_cache_ttl_ms", "NYXGATE_IDENTITY_NEGATIVE_CACHE_TTL_MS", "5000"},
    {"identity.negative_cache_entries", "NYXGATE_IDENTITY_NEGATIVE_CACHE_ENTRIES", "10000"},
    {"identity.invite_ttl_s", "NYXGATE_IDENTITY_INVITE_TTL_S", "604800"},
    {"usage.retention_days", "NYXGATE_USAGE_RETENTION_DAYS", "90"},
    {"workflows.node_concurrency", "NYXGATE_WORKFLOWS_NODE_CONCURRENCY", "16"},
    {"workflows.tenant_concurrency", "NYXGATE_WORKFLOWS_TENANT_CONCURRENCY", "16"},
    {"workflows.run_concurrency", "NYXGATE_WORKFLOWS_RUN_CONCURRENCY", "8"},
    {"workflows.lease_s", "NYXGATE_WORKFLOWS_LEASE_S", "30"},
    {"workflows.poll_ms", "NYXGATE_WORKFLOWS_POLL_MS", "1000"},
    {"workflows.context_chars", "NYXGATE_WORKFLOWS_CONTEXT_CHARS", "24000"},
    {"log.level", "NYXGATE_LOG_LEVEL", "info"},
};

/// A private temporary folder for TOML files, removed afterwards.
struct temp_dir {
  std::filesystem::path path;

  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "nyxgate-config-XXXXXX");
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }

  std::string write(const std::string& name, const std::string& text) const {
    auto file = path / name;
    std::ofstream(file) << text;
    return file.string();
  }
};

/// Runs load and returns the error it must throw.
template <class Load>
cfg::config_error expect_error(Load load) {
  try {
    load();
  } catch (const cfg::config_error& e) {
    return e;
  }
  BOOST_FAIL("expected a config_error");
  throw std::logic_error("unreachable");
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

cfg::config_error flag_error(const std::string& key, const std::string& value) {
  return expect_error([&] { cfg::load(std::nullopt, {}, {{key, value}}); });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config_test)

BOOST_AUTO_TEST_CASE(defaults_without_any_source) {
  auto s = cfg::load(std::nullopt, {}, {});
  BOOST_TEST(s.server.listen == "127.0.0.1:8080");
  BOOST_TEST(s.server.data_dir == "./var");
  BOOST_TEST(s.server.threads == 2);
  BOOST_TEST(s.server.max_connections == 10000);
  BOOST_TEST(s.server.shutdown_grace_ms == 10000);
  BOOST_TEST(s.database.url == "");
  BOOST_TEST(s.database.pool_size == 4);
  BOOST_TEST(s.database.embedded_fast_unsafe == false);
  BOOST_TEST(s.security.master_key_file == "");
  BOOST_TEST(s.tls.ca_file == "");
  BOOST_TEST(s.providers.openai.base_url == "https://api.openai.com");
  BOOST_TEST(s.providers.anthropic.base_url == "https://api.anthropic.com");
  BOOST_TEST(s.providers.google.base_url == "https://generativelanguage.googleapis.com");
  BOOST_TEST(s.providers.kimi.base_url == "https://api.moonshot.ai");
  BOOST_TEST(s.providers.github.base_url == "https://api.github.com");
  BOOST_TEST(s.gateway.retries == 2);
  BOOST_TEST(s.gateway.timeout_ms == 120000);
  BOOST_TEST(s.gateway.key_cooldown_s == 300);
  BOOST_TEST(s.limits.max_body_bytes == 1048576);
  BOOST_TEST(s.limits.max_json_depth == 64);
  BOOST_TEST(s.log.level == "info");
}

BOOST_AUTO_TEST_CASE(toml_file_overrides_defaults) {
  temp_dir dir;
  auto file = dir.write("nyxgate.toml", R"(
[server]
listen = "0.0.0.0:9000"
threads = 8

[database]
url = "postgresql://gw@db.internal/nyxgate"
pool_size = 16
embedded_fast_unsafe = true

[providers.openai]
base_url = "http://localhost:4010/"

[providers]
kimi.base_url = "https://kimi.example"

[limits]
max_body_bytes = 2097152

[log]
level = "debug"
)");
  auto s = cfg::load(file, {}, {});
  BOOST_TEST(s.server.listen == "0.0.0.0:9000");
  BOOST_TEST(s.server.threads == 8);
  BOOST_TEST(s.server.data_dir == "./var");  // untouched keys keep their default
  BOOST_TEST(s.database.url == "postgresql://gw@db.internal/nyxgate");
  BOOST_TEST(s.database.pool_size == 16);
  BOOST_TEST(s.database.embedded_fast_unsafe == true);
  BOOST_TEST(s.providers.openai.base_url == "http://localhost:4010");  // trailing '/' dropped
  BOOST_TEST(s.providers.kimi.base_url == "https://kimi.example");
  BOOST_TEST(s.providers.anthropic.base_url == "https://api.anthropic.com");
  BOOST_TEST(s.limits.max_body_bytes == 2097152);
  BOOST_TEST(s.log.level == "debug");
}

BOOST_AUTO_TEST_CASE(environment_overrides_toml) {
  temp_dir dir;
  auto file = dir.write("a.toml", "[database]\npool_size = 16\n[server]\nthreads = 8\n");
  cfg::environment env{{"NYXGATE_DATABASE_POOL_SIZE", "32"},
                       {"NYXGATE_PROVIDERS_OPENAI_BASE_URL", "https://proxy.example/v1"},
                       {"NYXGATE_DATABASE_EMBEDDED_FAST_UNSAFE", "yes"},
                       {"PATH", "/usr/bin"}};
  auto s = cfg::load(file, env, {});
  BOOST_TEST(s.database.pool_size == 32);
  BOOST_TEST(s.server.threads == 8);
  BOOST_TEST(s.providers.openai.base_url == "https://proxy.example/v1");
  BOOST_TEST(s.database.embedded_fast_unsafe == true);
}

BOOST_AUTO_TEST_CASE(flag_overrides_environment) {
  temp_dir dir;
  auto file = dir.write("a.toml", "[gateway]\nretries = 1\n");
  cfg::environment env{{"NYXGATE_GATEWAY_RETRIES", "3"}, {"NYXGATE_LOG_LEVEL", "warn"}};
  auto s = cfg::load(file, env, {{"gateway.retries", "5"}, {"server.listen", "[::1]:0"}});
  BOOST_TEST(s.gateway.retries == 5);
  BOOST_TEST(s.log.level == "warn");
  BOOST_TEST(s.server.listen == "[::1]:0");
}

BOOST_AUTO_TEST_CASE(nyxgate_config_names_the_file_unless_one_is_given) {
  temp_dir dir;
  auto from_env = dir.write("env.toml", "[server]\nthreads = 3\n");
  auto given = dir.write("given.toml", "[server]\nthreads = 5\n");
  cfg::environment env{{"NYXGATE_CONFIG", from_env}};
  BOOST_TEST(cfg::load(std::nullopt, env, {}).server.threads == 3);
  BOOST_TEST(cfg::load(given, env, {}).server.threads == 5);
}

BOOST_AUTO_TEST_CASE(other_nyxgate_variables_outside_config_sections_are_ignored) {
  cfg::environment env{{"NYXGATE_BIN", "/usr/bin/nyxgate"}, {"NYXGATE_JOBS", "2"}};
  BOOST_TEST(cfg::load(std::nullopt, env, {}).server.threads == 2);
}

BOOST_AUTO_TEST_CASE(unknown_toml_key_names_key_file_and_line) {
  temp_dir dir;
  auto file = dir.write("a.toml", "[server]\nthreads = 2\nthredas = 4\n");
  auto e = expect_error([&] { cfg::load(file, {}, {}); });
  BOOST_TEST(e.key == "server.thredas");
  BOOST_TEST(e.source == "file " + file);
  BOOST_TEST(contains(e.reason, "unknown key"), e.reason);
  BOOST_TEST(contains(e.reason, "did you mean server.threads?"), e.reason);
  BOOST_TEST(contains(e.reason, "line 3"), e.reason);
  BOOST_TEST(contains(e.what(), "server.thredas: unknown key"), e.what());
}

BOOST_AUTO_TEST_CASE(unknown_toml_section_is_refused) {
  temp_dir dir;
  auto file = dir.write("a.toml", "[providers.mistral]\nbase_url = \"https://x.example\"\n");
  auto e = expect_error([&] { cfg::load(file, {}, {}); });
  BOOST_TEST(e.key == "providers.mistral");
  BOOST_TEST(e.source == "file " + file);
  BOOST_TEST(contains(e.reason, "unknown key"), e.reason);
}

BOOST_AUTO_TEST_CASE(scalar_in_place_of_a_section_is_refused) {
  temp_dir dir;
  auto file = dir.write("a.toml", "server = 1\n");
  auto e = expect_error([&] { cfg::load(file, {}, {}); });
  BOOST_TEST(e.key == "server");
  BOOST_TEST(contains(e.reason, "must be a table"), e.reason);
}

BOOST_AUTO_TEST_CASE(unknown_environment_variable_names_variable) {
  cfg::environment env{{"NYXGATE_SERVER_THREDS", "4"}};
  auto e = expect_error([&] { cfg::load(std::nullopt, env, {}); });
  BOOST_TEST(e.key == "NYXGATE_SERVER_THREDS");
  BOOST_TEST(e.source == "environment NYXGATE_SERVER_THREDS");
  BOOST_TEST(contains(e.reason, "did you mean NYXGATE_SERVER_THREADS?"), e.reason);
}

BOOST_AUTO_TEST_CASE(unknown_flag_names_flag) {
  auto e = flag_error("server.nope", "1");
  BOOST_TEST(e.key == "server.nope");
  BOOST_TEST(e.source == "flag --server.nope");
  BOOST_TEST(contains(e.reason, "unknown key"), e.reason);
  BOOST_TEST(std::string(e.what()) == "server.nope: unknown key (from flag --server.nope)");
}

BOOST_AUTO_TEST_CASE(wrong_type_in_toml_names_expected_and_found_type) {
  temp_dir dir;
  auto file = dir.write("a.toml", "[server]\nthreads = \"four\"\n");
  auto e = expect_error([&] { cfg::load(file, {}, {}); });
  BOOST_TEST(e.key == "server.threads");
  BOOST_TEST(e.reason == "must be an integer, not a string at line 2");

  auto floats = dir.write("b.toml", "[gateway]\nretries = 2.0\n");
  auto f = expect_error([&] { cfg::load(floats, {}, {}); });
  BOOST_TEST(f.key == "gateway.retries");
  BOOST_TEST(contains(f.reason, "not a float"), f.reason);

  auto strings = dir.write("c.toml", "[server]\nlisten = 8080\n");
  auto g = expect_error([&] { cfg::load(strings, {}, {}); });
  BOOST_TEST(g.key == "server.listen");
  BOOST_TEST(contains(g.reason, "must be a string"), g.reason);
}

BOOST_AUTO_TEST_CASE(integers_from_text_are_strict) {
  for (const char* bad : {"abc", "12x", " 12", "12 ", "", "+3", "0x10", "1e3", "2.0"}) {
    auto e = flag_error("server.threads", bad);
    BOOST_TEST(e.key == "server.threads");
    BOOST_TEST(e.reason == "must be an integer", "input '" << bad << "': " << e.reason);
  }
  auto huge = flag_error("limits.max_body_bytes", "99999999999999999999");
  BOOST_TEST(contains(huge.reason, "too large"), huge.reason);
}

BOOST_AUTO_TEST_CASE(booleans_from_text) {
  struct row {
    const char* text;
    bool expected;
  };
  for (auto [text, expected] : std::vector<row>{{"true", true},
                                                {"TRUE", true},
                                                {"1", true},
                                                {"yes", true},
                                                {"false", false},
                                                {"0", false},
                                                {"No", false}}) {
    auto s = cfg::load(std::nullopt, {{"NYXGATE_DATABASE_EMBEDDED_FAST_UNSAFE", text}}, {});
    BOOST_TEST(s.database.embedded_fast_unsafe == expected, text);
  }
  auto e = flag_error("database.embedded_fast_unsafe", "maybe");
  BOOST_TEST(contains(e.reason, "must be a boolean"), e.reason);
}

BOOST_AUTO_TEST_CASE(out_of_range_names_key_range_and_source) {
  auto e = expect_error([] { cfg::load(std::nullopt, {{"NYXGATE_SERVER_THREADS", "65"}}, {}); });
  BOOST_TEST(std::string(e.what()) ==
             "server.threads: must be between 1 and 64 (from environment NYXGATE_SERVER_THREADS)");

  struct row {
    const char* key;
    const char* value;
    const char* reason;
  };
  for (const auto& [key, value, reason] : std::vector<row>{
           {"server.threads", "0", "must be between 1 and 64"},
           {"database.pool_size", "65", "must be between 1 and 64"},
           {"server.max_connections", "0", "must be between 1 and 1000000"},
           {"server.header_timeout_ms", "0", "must be between 1 and 3600000"},
           {"gateway.timeout_ms", "-5", "must be between 1 and 86400000"},
           {"gateway.retries", "11", "must be between 0 and 10"},
           {"limits.max_body_bytes", "1023", "must be between 1024 and 1073741824"},
           {"limits.max_json_depth", "0", "must be between 1 and 1024"},
       }) {
    auto err = flag_error(key, value);
    BOOST_TEST(err.key == key);
    BOOST_TEST(err.source == std::string("flag --") + key);
    BOOST_TEST(err.reason == reason, key << ": " << err.reason);
  }

  temp_dir dir;
  auto file = dir.write("a.toml", "[database]\n\npool_size = 0\n");
  auto t = expect_error([&] { cfg::load(file, {}, {}); });
  BOOST_TEST(t.key == "database.pool_size");
  BOOST_TEST(t.reason == "must be between 1 and 64 at line 3");
}

BOOST_AUTO_TEST_CASE(range_bounds_are_inclusive) {
  auto s = cfg::load(std::nullopt, {},
                     {{"server.threads", "64"},
                      {"gateway.retries", "0"},
                      {"limits.max_body_bytes", "1073741824"},
                      {"server.shutdown_grace_ms", "0"}});
  BOOST_TEST(s.server.threads == 64);
  BOOST_TEST(s.gateway.retries == 0);
  BOOST_TEST(s.limits.max_body_bytes == 1073741824);
  BOOST_TEST(s.server.shutdown_grace_ms == 0);
}

BOOST_AUTO_TEST_CASE(listen_address_must_be_host_and_port) {
  for (const char* good : {"127.0.0.1:8080", "0.0.0.0:0", "localhost:65535", "[::1]:443",
                           "[::]:8080", "gw-1.internal:80"}) {
    auto s = cfg::load(std::nullopt, {}, {{"server.listen", good}});
    BOOST_TEST(s.server.listen == good);
  }
  for (const char* bad : {"localhost", "localhost:", ":8080", "host:65536", "host:80x", "host:-1",
                          "::1:8080", "[::1:8080", "[]:80", "bad host:80"}) {
    auto e = flag_error("server.listen", bad);
    BOOST_TEST(e.key == "server.listen");
    BOOST_TEST(contains(e.reason, "must be host:port"), bad << ": " << e.reason);
  }
}

BOOST_AUTO_TEST_CASE(provider_base_url_must_be_http_or_https) {
  for (const char* bad : {"ftp://api.example", "api.openai.com", "https://", "https:///v1",
                          "https://host:port", "https://host/v1?x=1", "https://a b"}) {
    auto e = flag_error("providers.anthropic.base_url", bad);
    BOOST_TEST(e.key == "providers.anthropic.base_url");
    BOOST_TEST(e.source == "flag --providers.anthropic.base_url");
    BOOST_TEST(contains(e.reason, "URL"), bad << ": " << e.reason);
  }
  auto s = cfg::load(std::nullopt, {}, {{"providers.google.base_url", "HTTPS://[::1]:8443/"}});
  BOOST_TEST(s.providers.google.base_url == "HTTPS://[::1]:8443");
}

BOOST_AUTO_TEST_CASE(database_url_accepts_urls_and_conninfo_but_not_junk) {
  BOOST_TEST(cfg::load(std::nullopt, {}, {{"database.url", "postgres://u@h/db"}}).database.url ==
             "postgres://u@h/db");
  BOOST_TEST(cfg::load(std::nullopt, {}, {{"database.url", "host=/tmp dbname=x"}}).database.url ==
             "host=/tmp dbname=x");
  auto e = flag_error("database.url", "mysql-server");
  BOOST_TEST(e.key == "database.url");
  BOOST_TEST(!contains(e.what(), "mysql-server"), "values are never echoed");
}

BOOST_AUTO_TEST_CASE(log_level_must_be_known) {
  auto e = flag_error("log.level", "verbose");
  BOOST_TEST(e.key == "log.level");
  BOOST_TEST(e.reason == "must be one of debug|info|warn|error");
}

BOOST_AUTO_TEST_CASE(data_dir_must_not_be_empty) {
  auto e = flag_error("server.data_dir", "");
  BOOST_TEST(e.reason == "must not be empty");
}

BOOST_AUTO_TEST_CASE(invalid_toml_reports_line) {
  temp_dir dir;
  auto file = dir.write("broken.toml", "[server]\nthreads = 2\nlisten = \"unterminated\n");
  auto e = expect_error([&] { cfg::load(file, {}, {}); });
  BOOST_TEST(e.key == "");
  BOOST_TEST(e.source == "file " + file);
  BOOST_TEST(contains(e.reason, "invalid TOML at line 3"), e.reason);
}

BOOST_AUTO_TEST_CASE(missing_file_is_an_error_not_a_silent_default) {
  temp_dir dir;
  auto missing = (dir.path / "absent.toml").string();
  auto e = expect_error([&] { cfg::load(missing, {}, {}); });
  BOOST_TEST(e.source == "file " + missing);
  BOOST_TEST(contains(e.reason, "cannot open"), e.reason);

  auto via_env = expect_error([&] { cfg::load(std::nullopt, {{"NYXGATE_CONFIG", missing}}, {}); });
  BOOST_TEST(via_env.source == "file " + missing);
}

BOOST_AUTO_TEST_CASE(bad_value_in_lower_layer_fails_even_if_overridden) {
  // Each source is validated where it is read, so a broken file is never hidden by a flag.
  temp_dir dir;
  auto file = dir.write("a.toml", "[server]\nthreads = 0\n");
  auto e = expect_error([&] { cfg::load(file, {}, {{"server.threads", "4"}}); });
  BOOST_TEST(e.source == "file " + file);
}

BOOST_AUTO_TEST_CASE(split_args_separates_flags_config_and_rest) {
  auto p = cfg::split_args({"--server.listen=0.0.0.0:1", "--tenant-slug", "acme", "--config",
                            "/etc/nyxgate.toml", "--database.pool_size", "8", "-v", "positional",
                            "--gateway.retries=", "--help"});
  BOOST_TEST_REQUIRE(p.flags.size() == 3u);
  BOOST_TEST(p.flags[0].key == "server.listen");
  BOOST_TEST(p.flags[0].value == "0.0.0.0:1");
  BOOST_TEST(p.flags[1].key == "database.pool_size");
  BOOST_TEST(p.flags[1].value == "8");
  BOOST_TEST(p.flags[2].key == "gateway.retries");
  BOOST_TEST(p.flags[2].value == "");
  BOOST_TEST(p.config_file.value_or("") == "/etc/nyxgate.toml");
  std::vector<std::string> rest{"--tenant-slug", "acme", "-v", "positional", "--help"};
  BOOST_TEST(p.rest == rest, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(split_args_config_equals_form_and_double_dash) {
  auto p = cfg::split_args({"--config=a.toml", "--", "--server.threads=3"});
  BOOST_TEST(p.config_file.value_or("") == "a.toml");
  BOOST_TEST(p.flags.empty());
  std::vector<std::string> rest{"--", "--server.threads=3"};
  BOOST_TEST(p.rest == rest, boost::test_tools::per_element());
  BOOST_TEST(!cfg::split_args({"x"}).config_file.has_value());
}

BOOST_AUTO_TEST_CASE(split_args_refuses_flag_without_value) {
  auto last = expect_error([] { cfg::split_args({"--server.listen"}); });
  BOOST_TEST(last.key == "server.listen");
  BOOST_TEST(last.source == "flag --server.listen");
  BOOST_TEST(contains(last.reason, "needs a value"));
  auto followed = expect_error([] { cfg::split_args({"--server.threads", "--log.level=info"}); });
  BOOST_TEST(followed.key == "server.threads");
  auto config = expect_error([] { cfg::split_args({"--config"}); });
  BOOST_TEST(config.source == "flag --config");
}

BOOST_AUTO_TEST_CASE(process_environment_keeps_only_nyxgate_names) {
  ::setenv("NYXGATE_UNIT_TEST_MARKER", "v=1", 1);
  ::setenv("NOT_NYXGATE_MARKER", "x", 1);
  auto env = cfg::process_environment();
  ::unsetenv("NYXGATE_UNIT_TEST_MARKER");
  ::unsetenv("NOT_NYXGATE_MARKER");
  bool found = false;
  for (const auto& [name, value] : env) {
    BOOST_TEST(name.starts_with("NYXGATE_"), name);
    if (name == "NYXGATE_UNIT_TEST_MARKER") found = value == "v=1";
  }
  BOOST_TEST(found);
}

BOOST_AUTO_TEST_CASE(every_key_is_reachable_by_flag_and_environment) {
  // The value each key accepts is the default help shows (with "none" meaning empty).
  for (const auto& k : all_keys) {
    std::string value = k.shown_default == "none" ? "" : k.shown_default;
    BOOST_CHECK_NO_THROW(cfg::load(std::nullopt, {{k.env, value}}, {{k.key, value}}));
  }
}

BOOST_AUTO_TEST_CASE(help_lists_every_key_with_default_and_environment_name) {
  auto help = cfg::options_help();
  for (const auto& k : all_keys) {
    auto flag_at = help.find("  --" + k.key + " <");
    BOOST_TEST_REQUIRE(flag_at != std::string::npos, k.key);
    auto line = help.substr(flag_at, help.find('\n', flag_at) - flag_at);
    auto env_at = help.find("env " + k.env);
    BOOST_TEST_REQUIRE(env_at != std::string::npos, k.env);
    auto after = help[env_at + 4 + k.env.size()];
    BOOST_TEST((after == '\n' || after == ';'), k.env);
    BOOST_TEST(contains(line, "(default " + k.shown_default + ")"), line);
  }
  BOOST_TEST(contains(help, "--server.threads <n>"));
  BOOST_TEST(contains(help, "env NYXGATE_SERVER_THREADS; allowed: 1..64\n"));
  BOOST_TEST(contains(help, "--config <path>"));
  BOOST_TEST(contains(help, "NYXGATE_CONFIG"));
  // No key in help that the test does not know about.
  std::size_t flags = 0;
  for (std::size_t at = help.find("  --"); at != std::string::npos; at = help.find("  --", at + 1))
    ++flags;
  BOOST_TEST(flags == all_keys.size() + 1);  // + --config
}

BOOST_AUTO_TEST_CASE(toml_template_comments_out_defaults_and_loads_back) {
  temp_dir dir;
  auto text = cfg::toml_template(cfg::settings{});
  for (const auto& k : all_keys) {
    auto name = k.key.substr(k.key.rfind('.') + 1);
    BOOST_TEST(contains(text, "\n# " + name + " = "), k.key);
  }
  BOOST_TEST(contains(text, "\n[providers.openai]\n"));
  BOOST_TEST(cfg::toml_template(cfg::load(dir.write("defaults.toml", text), {}, {})) == text);
}

BOOST_AUTO_TEST_CASE(toml_template_writes_changed_values_as_set) {
  temp_dir dir;
  cfg::settings changed;
  changed.server.data_dir = "/var/lib/nyx\"gate\\";
  changed.gateway.retries = 5;
  changed.database.embedded_fast_unsafe = true;
  auto text = cfg::toml_template(changed);
  BOOST_TEST(contains(text, "\ndata_dir = \"/var/lib/nyx\\\"gate\\\\\"\n"), text);
  BOOST_TEST(contains(text, "\nretries = 5\n"));
  BOOST_TEST(contains(text, "\nembedded_fast_unsafe = true\n"));
  BOOST_TEST(contains(text, "\n# listen = \"127.0.0.1:8080\"\n"));
  auto loaded = cfg::load(dir.write("changed.toml", text), {}, {});
  BOOST_TEST(loaded.server.data_dir == changed.server.data_dir);
  BOOST_TEST(loaded.gateway.retries == 5);
  BOOST_TEST(loaded.database.embedded_fast_unsafe);
  BOOST_TEST(cfg::toml_template(loaded) == text);
}

BOOST_AUTO_TEST_SUITE_END()
