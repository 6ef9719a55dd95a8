// nyxgate: the multi-tenant LLM gateway and its subcommands (see `usage`).
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "app/admin_cli.hpp"
#include "app/init.hpp"
#include "app/node.hpp"
#include "app/rotate.hpp"
#include "app/runtime.hpp"
#include "config/config.hpp"
#include "storage/embedded_postgres.hpp"
#include "telemetry/log.hpp"

namespace {

using namespace nyxgate;

constexpr const char* usage = R"(usage: nyxgate <command> [options]

commands:
  serve     run the server (starts an embedded PostgreSQL when database.url is empty)
  init      first-install seed: a tenant, its owner and an admin token
  migrate   apply database migrations and exit
  rotate-master-key
            re-encrypt every provider key under a new master key (servers keep serving)
  config-template
            print a TOML configuration file with every key and its default
  keys      add, list or delete provider keys through a running server
  defaults  show or set the tenant's primary and fallback provider and models

Run `nyxgate <command> --help` for the command's options.
)";

constexpr const char* init_usage =
    R"(usage: nyxgate init --tenant-slug S --tenant-name N --admin-email E
                    [--admin-name A] [--token-file F] [config options]

Creates the tenant, its owner and an admin token, printed once (or written to --token-file
with mode 0600). Running it again with the same values changes nothing; different values
for an existing slug fail with exit code 1. With the embedded database it works while
`serve` runs on the same data folder (through that server's PostgreSQL).
)";

constexpr const char* migrate_usage = R"(usage: nyxgate migrate [config options]

Applies missing migrations under an advisory lock and prints the schema version.
)";

bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

void apply_log_level(const config::settings& s) {
  using telemetry::log_level;
  const auto& l = s.log.level;
  telemetry::set_log_level(l == "debug"   ? log_level::debug
                           : l == "warn"  ? log_level::warn
                           : l == "error" ? log_level::error
                                          : log_level::info);
}

config::settings load_settings(const config::parsed_args& parsed) {
  auto s = config::load(parsed.config_file, config::process_environment(), parsed.flags);
  apply_log_level(s);
  return s;
}

/// For a command run beside a serving node (init, migrate, rotate-master-key): with the
/// embedded database, the serving node owns the cluster, so the command connects to that
/// running PostgreSQL (socket and port from its postmaster.pid) instead of starting its own.
void use_running_embedded(config::settings& settings) {
  if (!settings.database.url.empty()) return;
  storage::embedded_options eo;
  eo.data_dir = settings.server.data_dir;
  if (auto running = storage::embedded_postgres::conninfo_of_running(eo)) {
    settings.database.url = *running;
    telemetry::log_info("using the embedded PostgreSQL of the serving nyxgate",
                        {{"data_dir", settings.server.data_dir}});
  }
}

int serve(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::cout << "usage: nyxgate serve [--config FILE] [options]\n\nOptions (also TOML "
                 "section.key, environment NYXGATE_SECTION_KEY):\n"
              << config::options_help();
    return 0;
  }
  auto parsed = config::split_args(args);
  if (!parsed.rest.empty()) {
    std::cerr << "nyxgate serve: unknown argument '" << parsed.rest.front()
              << "' (see nyxgate serve --help)\n";
    return 2;
  }
  auto settings = load_settings(parsed);
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  std::signal(SIGPIPE, SIG_IGN);
  std::atomic<bool> gave_up{false};
  app::node node(settings, [&] {
    gave_up = true;
    boost::asio::post(signals_io, [&] { signals.cancel(); });
  });
  signals.async_wait([](const boost::system::error_code& ec, int sig) {
    if (!ec) telemetry::log_info("shutting down", {{"signal", sig}});
  });
  signals_io.run();
  if (gave_up) telemetry::log_info("shutting down", {{"reason", "the node cannot recover"}});
  node.shutdown();
  return gave_up ? 1 : 0;
}

int init(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::cout << init_usage;
    return 0;
  }
  auto parsed = config::split_args(args);
  app::init_request req;
  bool have_slug = false, have_name = false, have_email = false;
  for (std::size_t i = 0; i < parsed.rest.size(); ++i) {
    std::string arg = parsed.rest[i];
    std::string value;
    bool inline_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos && arg.starts_with("--")) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    auto take = [&]() -> bool {
      if (inline_value) return true;
      if (i + 1 >= parsed.rest.size()) return false;
      value = parsed.rest[++i];
      return true;
    };
    bool known = arg == "--tenant-slug" || arg == "--tenant-name" || arg == "--admin-email" ||
                 arg == "--admin-name" || arg == "--token-file";
    if (!known) {
      std::cerr << "nyxgate init: unknown argument '" << arg << "' (see nyxgate init --help)\n";
      return 2;
    }
    if (!take()) {
      std::cerr << "nyxgate init: " << arg << " needs a value\n";
      return 2;
    }
    if (arg == "--tenant-slug") req.tenant_slug = value, have_slug = true;
    if (arg == "--tenant-name") req.tenant_name = value, have_name = true;
    if (arg == "--admin-email") req.admin_email = value, have_email = true;
    if (arg == "--admin-name") req.admin_name = value;
    if (arg == "--token-file") req.token_file = value;
  }
  if (!have_slug || !have_name || !have_email) {
    std::cerr << "nyxgate init: --tenant-slug, --tenant-name and --admin-email are required\n"
              << init_usage;
    return 2;
  }
  if (auto problem = app::validate(req)) {
    std::cerr << "nyxgate init: " << *problem << "\n";
    return 2;
  }
  auto settings = load_settings(parsed);
  use_running_embedded(settings);
  app::runtime rt(settings, 1);
  auto result = app::run_init(rt.db(), req);
  rt.stop();
  switch (result.outcome) {
    case app::init_outcome::created:
      std::cout << result.message << "\n";
      if (req.token_file)
        std::cout << "token written to " << *req.token_file << "\n";
      else
        std::cout << "admin token (shown once, store it now):\ntoken: " << result.token << "\n";
      return 0;
    case app::init_outcome::unchanged:
      std::cout << result.message << "\n";
      return 0;
    case app::init_outcome::conflict:
    case app::init_outcome::failed:
      std::cerr << "nyxgate init: " << result.message << "\n";
      return 1;
  }
  return 1;
}

int migrate(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::cout << migrate_usage;
    return 0;
  }
  auto parsed = config::split_args(args);
  if (!parsed.rest.empty()) {
    std::cerr << "nyxgate migrate: unknown argument '" << parsed.rest.front() << "'\n";
    return 2;
  }
  auto settings = load_settings(parsed);
  use_running_embedded(settings);
  app::runtime rt(settings, 1);
  std::cout << "schema at version " << rt.schema_version() << "\n";
  return 0;
}

constexpr const char* rotate_usage = R"(usage: nyxgate rotate-master-key [config options]

Adds a new master key version to security.master_key_file (default <data_dir>/master.key),
re-encrypts every provider key under it while servers keep serving (they reload the file
on a database notice), then removes the old versions from the file. Back the file up first.
With the embedded database and a `serve` running on the same data_dir, it works through
that server's PostgreSQL.
)";

int rotate(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::cout << rotate_usage;
    return 0;
  }
  auto parsed = config::split_args(args);
  if (!parsed.rest.empty()) {
    std::cerr << "nyxgate rotate-master-key: unknown argument '" << parsed.rest.front() << "'\n";
    return 2;
  }
  auto settings = load_settings(parsed);
  use_running_embedded(settings);
  auto key_file = settings.security.master_key_file.empty()
                      ? settings.server.data_dir + "/master.key"
                      : settings.security.master_key_file;
  app::runtime rt(settings, 1);
  auto result = app::rotate_master_key(rt.db(), key_file);
  rt.stop();
  (result.ok ? std::cout : std::cerr) << result.message << "\n";
  return result.ok ? 0 : 1;
}

}  // namespace

constexpr const char* config_template_usage = R"(usage: nyxgate config-template [config options]

Prints a TOML configuration file: every key with its description, under its section. Keys
given here (or in the environment, or a --config file) are written as set; all others are
commented out at their defaults.
)";

int config_template(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::cout << config_template_usage;
    return 0;
  }
  auto parsed = config::split_args(args);
  if (!parsed.rest.empty()) {
    std::cerr << "nyxgate config-template: unknown argument '" << parsed.rest.front() << "'\n";
    return 2;
  }
  std::cout << config::toml_template(load_settings(parsed));
  return 0;
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << usage;
    return args.empty() ? 2 : 0;
  }
  auto command = args[0];
  args.erase(args.begin());
  try {
    if (command == "serve") return serve(args);
    if (command == "init") return init(args);
    if (command == "migrate") return migrate(args);
    if (command == "rotate-master-key") return rotate(args);
    if (command == "config-template") return config_template(args);
    if (command == "keys") return app::keys_command(args);
    if (command == "defaults") return app::defaults_command(args);
    std::cerr << "nyxgate: unknown command '" << command << "'\n" << usage;
    return 2;
  } catch (const config::config_error& e) {
    std::cerr << "nyxgate " << command << ": configuration error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "nyxgate " << command << ": " << e.what() << "\n";
    return 1;
  }
}
