#include "app/node.hpp"

#include <filesystem>
#include <future>
#include <stdexcept>
#include <thread>

#include <caf/send.hpp>

#include "actors/pipeline_actor.hpp"
#include "actors/provider_actor.hpp"
#include "actors/request_actor.hpp"
#include "actors/tenant_actor.hpp"
#include "api/blog/pages.hpp"
#include "api/openai/chat_handler.hpp"
#include "api/router.hpp"
#include "api/trpc/github_import_procedures.hpp"
#include "api/trpc/identity_procedures.hpp"
#include "api/trpc/key_probe_procedures.hpp"
#include "api/trpc/key_procedures.hpp"
#include "api/trpc/pipeline_procedures.hpp"
#include "api/trpc/project_insight_procedures.hpp"
#include "api/trpc/projects_procedures.hpp"
#include "api/trpc/router.hpp"
#include "api/trpc/template_procedures.hpp"
#include "app/rotate.hpp"
#include "app/runtime.hpp"
#include "app/upstream_pool.hpp"
#include "identity/authenticator.hpp"
#include "identity/token.hpp"
#include "net/client/https_client.hpp"
#include "net/http/server.hpp"
#include "providers/registry.hpp"
#include "security/key_vault.hpp"
#include "storage/api_keys_repository.hpp"
#include "storage/channels.hpp"
#include "storage/detail/pg_connection.hpp"
#include "storage/identity_repository.hpp"
#include "storage/usage_recorder.hpp"
#include "storage/usage_retention.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::app {

namespace {

std::string master_key_path(const config::settings& s) {
  if (!s.security.master_key_file.empty()) return s.security.master_key_file;
  return (std::filesystem::path(s.server.data_dir) / "master.key").string();
}

/// A count read once at start (`what` names it in the error).
std::int64_t count(storage::database& db, storage::statement st, std::string_view what) {
  auto reply = db.execute_blocking(storage::single(std::move(st)));
  if (!reply.ok())
    throw std::runtime_error("cannot count the " + std::string{what} + ": " +
                             std::string{storage::to_string(reply.error)});
  return storage::count_of(reply.results.front());
}

std::shared_ptr<actors::vault_ref> load_vault(const config::settings& s, storage::database& db) {
  auto path = master_key_path(s);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) {
    // Provider keys stored in the database are sealed under a master key that must not be
    // replaced.
    if (auto stored = count(db, storage::api_keys_repository::count_all(), "stored keys");
        stored > 0)
      throw std::runtime_error(
          "master key file " + path + " is missing, but the database holds " +
          std::to_string(stored) +
          " provider key(s) sealed under a master key; restore the file from a backup (or set "
          "security.master_key_file to it). nyxgate never generates a new master key while "
          "keys are stored: they could not be decrypted any more");
  }
  auto ref = std::make_shared<actors::vault_ref>();
  if (s.security.master_key_file.empty()) {
    // The embedded default: generated once into the data folder, mode 0600.
    std::filesystem::create_directories(s.server.data_dir);
    ref->vault = std::make_shared<security::key_vault>(security::key_vault::load_or_create(path));
  } else {
    ref->vault = std::make_shared<security::key_vault>(security::key_vault::load(path));
  }
  return ref;
}

/// Follows other nodes' changes: LISTEN on a dedicated connection; a key notice reloads that
/// tenant's actor if this node runs one, a principal notice drops that tenant's cached
/// principals, a blog notice drops that project's rendered pages, a pipeline wake makes the
/// engine claim, a pipeline cancel stops that run's calls, a pipeline progress notice wakes
/// that run's progress subscribers. After a reconnect every actor reloads, every principal and
/// page is dropped, every progress subscriber reads again and the engine claims, since
/// notifications sent while the connection was down are lost.
std::shared_ptr<storage::detail::pg_connection> start_listener(
    boost::asio::io_context& io, const std::string& conninfo, actors::tenant_directory& tenants,
    identity::authenticator& auth, api::blog::blog_cache& blogs, api::progress_hub& progress,
    std::shared_ptr<actors::pipeline_engine> pipelines, std::shared_ptr<actors::vault_ref> vault,
    std::string key_file) {
  storage::detail::connection_options o;
  o.conninfo = conninfo;
  o.name = "listener";
  auto conn = storage::detail::pg_connection::create(io, o);
  std::weak_ptr<storage::detail::pg_connection> weak = conn;
  auto reload = [](const actors::tenant_actor& a) {
    caf::anon_send(a, actors::reload_atom_v,
                   std::make_shared<actors::reply_sink<std::string>>([](std::string) {}, ""));
  };
  conn->start(
      [weak, &tenants, &auth, &blogs, &progress, pipelines, reload](bool up) {
        if (!up) return;
        auto c = weak.lock();
        if (!c) return;
        c->execute(storage::listen_all(),
                   [&tenants, &auth, &blogs, &progress, pipelines, reload](storage::db_reply r) {
                     if (!r.ok()) {
                       telemetry::log_warn("listening for changes failed",
                                           {{"error", storage::to_string(r.error)}});
                       return;
                     }
                     // Changes made before LISTEN took effect were not heard: at start-up (a tenant
                     // actor may have loaded meanwhile) and after every reconnect. Reload what is
                     // cached.
                     for (auto& a : tenants.all()) reload(a);
                     auth.invalidate_all();
                     blogs.invalidate_all();
                     progress.changed_all();
                     pipelines->wake();
                   });
      },
      [&tenants, &auth, &blogs, &progress, pipelines, reload, vault, key_file](
          std::string channel, std::string payload) {
        if (channel == storage::tenant_change_channel) {
          if (auto a = tenants.find(payload)) reload(*a);
          return;
        }
        if (channel == storage::principal_change_channel) {
          auth.invalidate_tenant(payload);
          return;
        }
        if (channel == storage::blog_change_channel) {
          blogs.invalidate(payload);
          return;
        }
        if (channel == storage::pipeline_progress_channel) {
          progress.changed(payload);
          return;
        }
        if (channel == storage::pipeline_wake_channel) {
          pipelines->wake();
          return;
        }
        if (channel == storage::pipeline_cancel_channel) {
          pipelines->cancel_run(std::move(payload));
          return;
        }
        if (channel != storage::master_key_channel) return;
        try {
          auto fresh = std::make_shared<security::key_vault>(security::key_vault::load(key_file));
          {
            std::lock_guard lock(vault->mutex);
            vault->vault = std::move(fresh);
          }
          telemetry::log_info("master key file reloaded", {{"version", payload}});
          for (auto& a : tenants.all()) reload(a);
        } catch (const std::exception& e) {
          telemetry::log_error("master key reload failed", {{"error", e.what()}});
        }
      });
  return conn;
}

identity::authenticator::options auth_options(const config::settings& s) {
  identity::authenticator::options o;
  o.cache_ttl = std::chrono::milliseconds(s.identity.token_cache_ttl_ms);
  o.negative_ttl = std::chrono::milliseconds(s.identity.negative_cache_ttl_ms);
  o.max_negative_entries = static_cast<std::size_t>(s.identity.negative_cache_entries);
  return o;
}

/// The gateway's fixed parts: per chat provider a circuit, and per I/O shard an actor with that
/// shard's connection pool.
std::shared_ptr<actors::gateway_services> make_gateway(
    const config::settings& s, runtime& rt, actors::tenant_directory& tenants,
    actors::provider_directory& providers, std::shared_ptr<storage::usage_recorder> usage) {
  net::tls_options tls{s.tls.ca_file, true};
  // One client (it pools per shard), per provider one circuit and one actor per shard.
  auto client = net::https_client::create(rt.io(), tls);
  for (const auto& provider : ::nyxgate::providers::chat_providers()) {
    const auto* p = s.providers.find(provider.id);
    if (!p) throw std::logic_error("no base URL setting for provider " + std::string{provider.id});
    std::string name{provider.id};
    auto circuit = std::make_shared<actors::circuit_breaker>(
        s.circuit.failure_threshold, std::chrono::seconds(s.circuit.cooldown_s));
    for (auto* shard : rt.io_shards()) {
      actors::provider_endpoint endpoint{name, p->base_url,
                                         make_upstream_pool(client->for_shard(*shard)), circuit};
      providers.add(name, actors::spawn_provider_actor(rt.actors(), std::move(endpoint)), shard);
    }
  }
  auto g = std::make_shared<actors::gateway_services>();
  g->tenants = &tenants;
  g->providers = &providers;
  g->usage = std::move(usage);
  g->options.retry.retries = s.gateway.retries;
  g->options.retry.backoff_base_ms = s.gateway.backoff_base_ms;
  g->options.retry.backoff_cap_ms = s.gateway.backoff_cap_ms;
  g->options.retry.retry_after_cap_ms = s.gateway.retry_after_cap_ms;
  g->options.call_timeout = std::chrono::milliseconds(s.gateway.timeout_ms);
  g->options.idle_timeout = std::chrono::milliseconds(s.gateway.stream_idle_timeout_ms);
  g->options.key_cooldown_s = s.gateway.key_cooldown_s;
  return g;
}

actors::pipeline_options pipeline_options(const config::settings& s) {
  actors::pipeline_options o;
  o.owner = identity::new_uuid();
  o.node_concurrency = s.workflows.node_concurrency;
  o.tenant_concurrency = s.workflows.tenant_concurrency;
  o.run_concurrency = s.workflows.run_concurrency;
  o.lease_s = s.workflows.lease_s;
  o.poll = std::chrono::milliseconds(s.workflows.poll_ms);
  o.context_chars = static_cast<std::size_t>(s.workflows.context_chars);
  return o;
}

}  // namespace

struct node::impl {
  config::settings settings;
  runtime rt;
  std::shared_ptr<actors::vault_ref> vault;
  std::unique_ptr<actors::tenant_directory> tenants;
  identity::authenticator auth;
  api::trpc_router trpc;
  api::progress_hub progress;
  actors::provider_directory providers;
  std::shared_ptr<storage::usage_recorder> usage;
  std::shared_ptr<storage::usage_retention> retention;
  std::shared_ptr<actors::gateway_services> gateway;
  api::data_plane data;
  /// The public blog pages; `blog.cache().invalidate(project_id)` is what a procedure that
  /// changes a blog calls after its commit.
  api::blog::blog_pages blog;
  api::router routes;
  std::shared_ptr<actors::pipeline_engine> pipelines;
  std::shared_ptr<storage::detail::pg_connection> listener;
  std::shared_ptr<net::http_server> server;
  bool stopped = false;

  explicit impl(const config::settings& s)
      : settings(s),
        rt(s, s.database.pool_size),
        vault(load_vault(s, rt.db())),
        tenants(std::make_unique<actors::tenant_directory>(rt.actors(), rt.db(), vault)),
        auth(rt.db(), rt.io(), auth_options(s)),
        trpc(auth, api::trpc_parse_limits{32, s.limits.max_json_depth}),
        usage(storage::usage_recorder::create(rt.io(), rt.db())),
        gateway(make_gateway(s, rt, *tenants, providers, usage)),
        data(rt.io(), auth, rt.actors(), gateway,
             api::ws_chat_options{static_cast<std::size_t>(s.websocket.max_streams),
                                  s.limits.max_json_depth},
             &rt.db(), &progress),
        blog(rt.io(), rt.db()),
        routes(rt.io(), rt.db(), trpc, &data, &blog) {}
};

node::node(const config::settings& settings, std::function<void()> on_fatal)
    : impl_(std::make_unique<impl>(settings)) {
  const auto& s = impl_->settings;
  impl_->routes.set_liveness([rt = &impl_->rt] { return rt->recoverable(); });
  api::add_identity_procedures(impl_->trpc, impl_->rt.db(), impl_->auth, s.identity.invite_ttl_s);
  api::add_key_procedures(impl_->trpc, impl_->rt.db(), *impl_->tenants, impl_->vault);
  api::add_project_procedures(impl_->trpc, impl_->rt.db(),
                              [&blog = impl_->blog](const std::string& project_id) {
                                blog.cache().invalidate(project_id);
                              });
  api::add_template_procedures(impl_->trpc, impl_->rt.db());
  api::add_pipeline_procedures(impl_->trpc, impl_->rt.db(), impl_->rt.io(), impl_->progress);
  api::probe_settings probe;
  probe.openai = s.providers.openai.base_url;
  probe.anthropic = s.providers.anthropic.base_url;
  probe.google = s.providers.google.base_url;
  probe.kimi = s.providers.kimi.base_url;
  probe.github = s.providers.github.base_url;
  probe.key_cooldown_s = s.gateway.key_cooldown_s;
  auto upstream = net::https_client::create(impl_->rt.io(), net::tls_options{s.tls.ca_file, true});
  api::key_access keys{impl_->rt.db(), *impl_->tenants, impl_->vault};
  api::add_key_probe_procedures(impl_->trpc, keys, upstream, probe);
  api::github_access github{keys, upstream, s.providers.github.base_url};
  api::add_project_insight_procedures(impl_->trpc, github);
  api::add_github_import_procedures(impl_->trpc, github);
  impl_->pipelines =
      actors::pipeline_engine::start(impl_->rt.actors(), impl_->rt.io(), impl_->rt.io_shards(),
                                     impl_->rt.db(), impl_->gateway, pipeline_options(s));
  impl_->listener = start_listener(impl_->rt.io(), impl_->rt.conninfo(), *impl_->tenants,
                                   impl_->auth, impl_->blog.cache(), impl_->progress,
                                   impl_->pipelines, impl_->vault, master_key_path(s));
  impl_->auth.start();
  net::server_limits limits;
  limits.max_body_bytes = static_cast<std::size_t>(s.limits.max_body_bytes);
  limits.max_header_bytes = static_cast<std::size_t>(s.limits.max_header_bytes);
  limits.max_url_bytes = static_cast<std::size_t>(s.limits.max_url_bytes);
  limits.header_timeout = std::chrono::milliseconds(s.server.header_timeout_ms);
  limits.idle_timeout = std::chrono::milliseconds(s.server.idle_timeout_ms);
  limits.body_timeout = std::chrono::milliseconds(s.server.request_timeout_ms);
  limits.max_connections = static_cast<std::size_t>(s.server.max_connections);
  limits.ws_max_message_bytes = static_cast<std::size_t>(s.limits.ws_max_message_bytes);
  limits.ws_auth_timeout = std::chrono::milliseconds(s.websocket.auth_timeout_ms);
  limits.ws_idle_timeout = std::chrono::milliseconds(s.websocket.idle_timeout_ms);
  limits.ws_max_queued_bytes = static_cast<std::size_t>(s.websocket.max_queued_bytes);
  limits.ws_stuck_timeout = std::chrono::milliseconds(s.websocket.stuck_timeout_ms);
  try {
    impl_->server =
        net::http_server::create(impl_->rt.io(), s.server.listen, limits, impl_->routes.handler(),
                                 identity::new_request_id, impl_->rt.io_shards());
  } catch (...) {
    impl_->rt.stop();
    throw;
  }
  impl_->server->start();
  impl_->rt.supervise_database(std::move(on_fatal));
  auto colon = s.server.listen.rfind(':');
  telemetry::log_info("listening", {{"address", s.server.listen.substr(0, colon)},
                                    {"port", static_cast<int>(impl_->server->port())}});
  impl_->retention = storage::usage_retention::start(
      impl_->rt.io(), impl_->rt.db(), storage::retention_settings{s.usage.retention_days});
  if (count(impl_->rt.db(), storage::identity_repository::count_tenants(), "tenants") == 0)
    telemetry::log_info(
        "no tenant yet: seed the first with `nyxgate init --tenant-slug S --tenant-name N "
        "--admin-email E --token-file F` (same data folder or database; it works while serve "
        "runs)");
}

node::~node() {
  shutdown();
}

unsigned short node::port() const {
  return impl_->server->port();
}
net::http_handler node::handler() {
  return impl_->routes.handler();
}
storage::database& node::db() {
  return impl_->rt.db();
}
identity::authenticator& node::authenticator() {
  return impl_->auth;
}

actors::tenant_directory& node::tenants() {
  return *impl_->tenants;
}

storage::usage_recorder& node::usage() {
  return *impl_->usage;
}

std::vector<std::string> node::procedure_paths() const {
  std::vector<std::string> out;
  for (auto& [path, kind] : impl_->trpc.procedures()) out.push_back(path);
  return out;
}

caf::actor_system& node::actor_system() {
  return impl_->rt.actors();
}

void node::shutdown() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  auto grace = std::chrono::milliseconds(impl_->settings.server.shutdown_grace_ms);
  if (impl_->server) {
    auto drained = std::make_shared<std::promise<void>>();
    auto future = drained->get_future();
    impl_->server->shutdown(grace, [drained] { drained->set_value(); });
    future.wait_for(grace + std::chrono::seconds(1));
  }
  if (impl_->pipelines) impl_->pipelines->stop(grace + std::chrono::seconds(1));
  impl_->auth.stop();
  impl_->auth.flush_blocking();
  // Answers are out; give their request actors a moment to record usage, then flush.
  for (int i = 0; i < 200 && impl_->gateway->live_calls->load() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (impl_->retention) impl_->retention->stop();
  impl_->usage->flush_and_stop(std::chrono::seconds(10));
  if (impl_->listener) impl_->listener->close();
  impl_->providers.stop_all();
  impl_->tenants->stop_all();
  impl_->rt.stop();
  telemetry::log_info("stopped");
}

}  // namespace nyxgate::app
