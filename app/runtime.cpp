#include "app/runtime.hpp"

#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/messages.hpp"
#include "runtime/io_runtime.hpp"
#include "runtime/io_scheduler.hpp"
#include "storage/embedded_postgres.hpp"
#include "storage/migrations.hpp"
#include "storage/postgres_supervisor.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::app {

namespace {
caf::actor_system_config& configure(caf::actor_system_config& cfg, int threads,
                                    nyxgate::runtime::io_runtime& io) {
  cfg.add_message_types<caf::id_block::nyxgate_storage>();
  cfg.add_message_types<caf::id_block::nyxgate>();
  // An actor gives its thread back after this many messages: a flooded actor (a hot tenant)
  // must not starve the others, the storage actors included (CAF's default is unbounded).
  cfg.set("scheduler.max-throughput", std::size_t{100});
  if (threads == 0) {
    nyxgate::runtime::run_actors_on(cfg, io);
    return cfg;
  }
  cfg.set("scheduler.max-threads", static_cast<std::size_t>(threads));
  // Work sharing: an idle worker waits on a condition variable and wakes at once; work
  // stealing's idle workers spin, then sleep, and a call crosses between I/O threads and
  // actors several times (benchmarks/README.md, "Choices the figures decided").
  cfg.set("scheduler.policy", caf::atom("sharing"));
  return cfg;
}
}  // namespace

struct runtime::impl {
  // Declaration order is teardown order reversed: actors (and the connections they own) go
  // before the io_context their sockets belong to, the embedded database last.
  std::unique_ptr<storage::embedded_postgres> embedded;
  storage::supervisor_options supervision;
  std::unique_ptr<storage::postgres_supervisor> supervisor;
  nyxgate::runtime::io_runtime io;
  caf::actor_system_config actor_config;
  caf::actor_system actor_system;
  std::unique_ptr<storage::database> database;
  bool stopped = false;

  impl(int threads, int io_threads)
      : io(io_threads), actor_system(configure(actor_config, threads, io)) {}
};

int migrate(storage::database& db) {
  auto reply = db.execute_blocking(storage::migrate_batch(), std::chrono::seconds(120));
  if (!reply.ok())
    throw std::runtime_error("migration failed: " + std::string{storage::to_string(reply.error)} +
                             ": " + reply.message);
  return storage::schema_version_of(reply.results.back());
}

runtime::runtime(const config::settings& settings, int pool_size) {
  std::unique_ptr<storage::embedded_postgres> embedded;
  std::string conninfo = settings.database.url;
  if (conninfo.empty()) {
    storage::embedded_options eo;
    eo.data_dir = settings.server.data_dir;
    eo.fast_unsafe = settings.database.embedded_fast_unsafe;
    embedded = storage::embedded_postgres::start(eo);
    conninfo = embedded->conninfo();
  }
  conninfo_ = conninfo;
  impl_ = std::make_unique<impl>(settings.server.actor_threads, settings.server.threads);
  impl_->embedded = std::move(embedded);
  impl_->supervision.max_restarts = settings.database.embedded_max_restarts;
  impl_->supervision.backoff =
      std::chrono::milliseconds(settings.database.embedded_restart_backoff_ms);
  impl_->supervision.backoff_max =
      std::chrono::milliseconds(settings.database.embedded_restart_backoff_max_ms);
  impl_->io.start();
  storage::database_options dbo;
  dbo.conninfo = conninfo;
  dbo.pool_size = pool_size;
  dbo.connect_timeout = std::chrono::milliseconds(settings.database.connect_timeout_ms);
  dbo.query_timeout = std::chrono::milliseconds(settings.database.query_timeout_ms);
  impl_->database =
      std::make_unique<storage::database>(impl_->actor_system, impl_->io.context(), dbo);
  auto wait = std::chrono::milliseconds(
      std::max<std::int64_t>(30000, settings.database.connect_timeout_ms));
  if (!impl_->database->wait_connected(wait)) {
    stop();
    throw std::runtime_error("database unreachable: no connection within " +
                             std::to_string(wait.count() / 1000) +
                             " s (check database.url; the log has libpq's reason)");
  }
  try {
    schema_version_ = migrate(*impl_->database);
  } catch (...) {
    stop();
    throw;
  }
  telemetry::log_info("database ready", {{"schema_version", schema_version_},
                                         {"embedded", impl_->embedded != nullptr},
                                         {"pool_size", pool_size}});
}

runtime::~runtime() {
  stop();
}

caf::actor_system& runtime::actors() {
  return impl_->actor_system;
}
boost::asio::io_context& runtime::io() {
  return impl_->io.context();
}
std::vector<boost::asio::io_context*> runtime::io_shards() {
  return impl_->io.shards();
}
storage::database& runtime::db() {
  return *impl_->database;
}

void runtime::supervise_database(std::function<void()> on_give_up) {
  if (!impl_->embedded || impl_->supervisor) return;
  impl_->supervisor = std::make_unique<storage::postgres_supervisor>(
      *impl_->embedded, impl_->supervision, std::move(on_give_up));
}

bool runtime::recoverable() const {
  return !impl_->supervisor || impl_->supervisor->state() != storage::postgres_state::failed;
}

void runtime::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  // First, so that nothing restarts the database while it is being stopped.
  if (impl_->supervisor) impl_->supervisor->stop();
  if (impl_->database) impl_->database->close();
  // Let the storage actors close their connections before the I/O threads go.
  impl_->actor_system.await_all_actors_done();
  impl_->io.stop();
  impl_->io.join();
  if (impl_->embedded) impl_->embedded->stop();
}

}  // namespace nyxgate::app
