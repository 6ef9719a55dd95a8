#include "api/pipeline_progress.hpp"

#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "api/trpc/identity_procedures.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::api {

namespace json = boost::json;
namespace runs = storage::pipeline_runs_repository;

json::value pipeline_run_json(const runs::run_row& r) {
  return json::object{{"id", r.id},
                      {"projectId", r.project_id},
                      {"kind", r.kind},
                      {"status", r.status},
                      {"createdAt", r.created_at},
                      {"updatedAt", r.updated_at},
                      {"finishedAt", json_or_null(r.finished_at)},
                      {"counts", json::object{{"pending", r.counts.pending},
                                              {"running", r.counts.running},
                                              {"truncated", r.counts.truncated},
                                              {"done", r.counts.done},
                                              {"failed", r.counts.failed},
                                              {"cancelled", r.counts.cancelled}}}};
}

std::uint64_t progress_hub::subscribe(const std::string& run_id, subscriber fn) {
  std::lock_guard lock(mutex_);
  auto id = ++next_;
  runs_[run_id].emplace(id, std::move(fn));
  return id;
}

void progress_hub::unsubscribe(const std::string& run_id, std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  it->second.erase(id);
  if (it->second.empty()) runs_.erase(it);
}

void progress_hub::changed(const std::string& run_id) {
  std::vector<subscriber> told;
  {
    std::lock_guard lock(mutex_);
    auto it = runs_.find(run_id);
    if (it == runs_.end()) return;
    for (const auto& [id, fn] : it->second) told.push_back(fn);
  }
  for (auto& fn : told) fn();
}

void progress_hub::changed_all() {
  std::vector<subscriber> told;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [run, subscribers] : runs_)
      for (const auto& [id, fn] : subscribers) told.push_back(fn);
  }
  for (auto& fn : told) fn();
}

run_watch::run_watch(boost::asio::io_context& io, storage::database& db, progress_hub& hub,
                     std::string tenant_id, std::string run_id, handlers h,
                     std::chrono::milliseconds tick)
    : strand_(boost::asio::make_strand(io)),
      timer_(strand_),
      db_(db),
      hub_(hub),
      tenant_id_(std::move(tenant_id)),
      run_id_(std::move(run_id)),
      h_(std::move(h)),
      tick_(tick) {}

std::shared_ptr<run_watch> run_watch::start(boost::asio::io_context& io, storage::database& db,
                                            progress_hub& hub, std::string tenant_id,
                                            std::string run_id, handlers h,
                                            std::chrono::milliseconds tick) {
  auto w = std::make_shared<run_watch>(io, db, hub, std::move(tenant_id), std::move(run_id),
                                       std::move(h), tick);
  boost::asio::post(w->strand_, [w] {
    std::weak_ptr<run_watch> weak = w;
    w->subscription_ = w->hub_.subscribe(w->run_id_, [weak] {
      if (auto self = weak.lock()) boost::asio::post(self->strand_, [self] { self->read(); });
    });
    w->read();
    w->arm();
  });
  return w;
}

void run_watch::stop() {
  boost::asio::post(strand_, [self = shared_from_this()] { self->quit(); });
}

void run_watch::quit() {
  if (stopped_) return;
  stopped_ = true;
  hub_.unsubscribe(run_id_, subscription_);
  timer_.cancel();
}

void run_watch::read() {
  if (stopped_) return;
  if (reading_) {
    again_ = true;
    return;
  }
  reading_ = true;
  db_.execute(storage::single(runs::find_run(tenant_id_, run_id_)),
              [self = shared_from_this()](storage::db_reply reply) {
                boost::asio::post(self->strand_, [self, reply = std::move(reply)]() mutable {
                  self->on_reply(std::move(reply));
                });
              });
}

void run_watch::on_reply(storage::db_reply reply) {
  reading_ = false;
  if (stopped_) return;
  if (!reply.ok()) {
    // Storage trouble is passing or the tick reads again.
    telemetry::log_warn("reading a run's progress failed",
                        {{"run_id", run_id_}, {"error", storage::to_string(reply.error)}});
  } else {
    auto rows = runs::run_rows(reply.results.front());
    if (rows.empty()) return finish();
    auto run = pipeline_run_json(rows.front());
    auto text = json::serialize(run);
    if (text != last_) {
      last_ = std::move(text);
      changed_ = true;
      if (!h_.on_run(run)) return quit();
    }
    if (rows.front().status != "running") return finish();
  }
  if (again_) {
    again_ = false;
    read();
  }
}

void run_watch::arm() {
  timer_.expires_after(tick_);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->stopped_) return;
    if (!self->changed_ && !self->h_.on_idle()) return self->quit();
    self->changed_ = false;
    self->read();
    self->arm();
  });
}

void run_watch::finish() {
  quit();
  if (h_.on_end) h_.on_end();
}

}  // namespace nyxgate::api
