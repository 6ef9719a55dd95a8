#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// Start-up configuration: defaults < TOML file < environment < flags, validated once.
/// Every key, its range and its default live in one table in config.cpp; see
/// docs/configuration.md for the reference.
namespace nyxgate::config {

struct server_settings {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./var";
  int threads = 2;        // I/O threads
  int actor_threads = 0;  // actor scheduler threads; 0: actors run on the I/O threads
  std::int64_t max_connections = 10000;
  std::int64_t header_timeout_ms = 10000;
  std::int64_t idle_timeout_ms = 60000;
  std::int64_t request_timeout_ms = 30000;
  std::int64_t shutdown_grace_ms = 10000;
};

struct database_settings {
  std::string url;  // empty: embedded PostgreSQL under <data_dir>
  int pool_size = 4;
  std::int64_t connect_timeout_ms = 5000;
  std::int64_t query_timeout_ms = 5000;
  bool embedded_fast_unsafe = false;  // fsync=off for tests
  int embedded_max_restarts = 5;
  std::int64_t embedded_restart_backoff_ms = 500;
  std::int64_t embedded_restart_backoff_max_ms = 30000;
};

struct security_settings {
  std::string master_key_file;  // empty: <data_dir>/master.key
};

struct tls_settings {
  std::string ca_file;  // extra trusted CA for upstreams
};

struct provider_settings {
  std::string base_url;
};

struct providers_settings {
  provider_settings openai{"https://api.openai.com"};
  provider_settings anthropic{"https://api.anthropic.com"};
  provider_settings google{"https://generativelanguage.googleapis.com"};
  provider_settings kimi{"https://api.moonshot.ai"};
  provider_settings github{"https://api.github.com"};

  /// The settings of the provider with that registry id (providers/registry.cpp), or nullptr.
  const provider_settings* find(std::string_view id) const;
};

struct gateway_settings {
  int retries = 2;
  std::int64_t timeout_ms = 120000;
  std::int64_t key_cooldown_s = 300;
  std::int64_t backoff_base_ms = 100;
  std::int64_t backoff_cap_ms = 2000;
  std::int64_t retry_after_cap_ms = 10000;
  std::int64_t stream_idle_timeout_ms = 60000;
};

struct circuit_settings {
  int failure_threshold = 5;     // consecutive retryable failures that open a provider's circuit
  std::int64_t cooldown_s = 30;  // open this long, then one probe attempt goes through
};

struct limits_settings {
  std::int64_t max_body_bytes = 1048576;
  std::int64_t max_header_bytes = 16384;
  std::int64_t max_url_bytes = 8192;
  int max_json_depth = 64;
  std::int64_t ws_max_message_bytes = 1048576;
};

struct websocket_settings {
  int max_streams = 16;                     // concurrent chat streams per socket
  std::int64_t auth_timeout_ms = 5000;      // first-message auth deadline
  std::int64_t idle_timeout_ms = 60000;     // silent peer: pinged at half, closed at all
  std::int64_t max_queued_bytes = 4194304;  // outbound queue hard limit per socket
  std::int64_t stuck_timeout_ms = 10000;    // back-pressured this long: closed (1008)
};

struct identity_settings {
  std::int64_t token_cache_ttl_ms = 10000;      // backstop; changes arrive by LISTEN/NOTIFY
  std::int64_t negative_cache_ttl_ms = 5000;    // unknown tokens refused without a query
  std::int64_t negative_cache_entries = 10000;  // bound of that set
  std::int64_t invite_ttl_s = 604800;           // invite codes expire after this (7 days)
};

struct usage_settings {
  int retention_days = 90;  // usage rows older than this are deleted in batches; 0 keeps all
};

struct workflows_settings {
  std::int64_t node_concurrency = 16;    // items one node runs at once
  std::int64_t tenant_concurrency = 16;  // items of one tenant running at once, all nodes
  std::int64_t run_concurrency = 8;      // items of one run running at once, all nodes
  std::int64_t lease_s = 30;             // an item's lease; renewed every third of it
  std::int64_t poll_ms = 1000;           // an idle engine claims this often (and on a wake)
  std::int64_t context_chars = 24000;    // material of one workflow call, at most
};

struct log_settings {
  std::string level = "info";  // debug|info|warn|error
};

struct settings {
  server_settings server;
  database_settings database;
  security_settings security;
  tls_settings tls;
  providers_settings providers;
  gateway_settings gateway;
  circuit_settings circuit;
  limits_settings limits;
  websocket_settings websocket;
  identity_settings identity;
  usage_settings usage;
  workflows_settings workflows;
  log_settings log;
};

/// Thrown at start-up only. what() reads like:
/// `server.threads: must be between 1 and 64 (from environment NYXGATE_SERVER_THREADS)`.
struct config_error : std::runtime_error {
  std::string key;     // "server.threads"; the variable name for an unknown NYXGATE_* name
  std::string source;  // "file PATH", "environment NAME" or "flag --KEY"
  std::string reason;  // "must be between 1 and 64"; never echoes the offending value
  config_error(std::string key, std::string source, std::string reason);
};

struct flag {
  std::string key;  // like "server.listen"
  std::string value;
};

using environment = std::vector<std::pair<std::string, std::string>>;  // NAME -> value

/// Splits argv-style args: `--section.key=value` and `--section.key value` become flags (only
/// keys containing a '.'); `--config PATH`/`--config=PATH` is returned separately; everything
/// else is left in `rest` in order, and so is everything from a bare `--` on. Throws
/// config_error when a flag has no value (a next argument starting with `--` is not a value).
struct parsed_args {
  std::vector<flag> flags;
  std::optional<std::string> config_file;
  std::vector<std::string> rest;
};
parsed_args split_args(const std::vector<std::string>& args);

/// Reads the process environment (only NYXGATE_* names).
environment process_environment();

/// defaults < TOML file < environment (NYXGATE_SECTION_KEY; NYXGATE_CONFIG names the TOML file
/// when config_file is empty) < flags. Every value is validated where it is read, so the error
/// names the source that supplied it; throws config_error.
settings load(const std::optional<std::string>& config_file, const environment& env,
              const std::vector<flag>& flags);

/// Help text listing every key with its flag, default, range and environment name.
std::string options_help();

/// A TOML file holding `values`: every key under its section with its description; keys equal
/// to their default are commented out, so the file documents the defaults without pinning them.
std::string toml_template(const settings& values);

}  // namespace nyxgate::config
