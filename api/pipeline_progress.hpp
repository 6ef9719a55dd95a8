#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/value.hpp>

#include "storage/database.hpp"
#include "storage/pipeline_runs_repository.hpp"

/// Live progress of workflow runs (docs/workflows.md, "Procedures"): pipelines.onProgress and
/// the `/v1/ws` pipeline.subscribe events both follow a run through a run_watch.
namespace nyxgate::api {

/// The run object of the pipelines procedures: `{id, projectId, kind, status, createdAt,
/// updatedAt, finishedAt, counts}`.
boost::json::value pipeline_run_json(const storage::pipeline_runs_repository::run_row& r);

/// A node's subscribers to runs' progress, told by the node's listener when a run's items
/// changed (`nyxgate_pipeline_progress`). Thread-safe; subscribers are called outside the
/// lock, on the listener's thread.
class progress_hub {
 public:
  using subscriber = std::function<void()>;
  std::uint64_t subscribe(const std::string& run_id, subscriber fn);
  void unsubscribe(const std::string& run_id, std::uint64_t id);
  /// The run's items changed.
  void changed(const std::string& run_id);
  /// Notices may have been lost (the listener reconnected): every subscriber reads again.
  void changed_all();

 private:
  std::mutex mutex_;
  std::uint64_t next_ = 0;
  std::unordered_map<std::string, std::unordered_map<std::uint64_t, subscriber>> runs_;
};

/// Follows one run for one subscriber: reads the run with its counts after every notice, one
/// read at a time (a burst of notices during a read makes one more read), and hands on each run
/// that differs from the last one handed on; also re-reads every `tick` (a lost notice) and
/// tells `idle` when nothing changed (a keep-alive). Ends, after handing on the finished run,
/// when the run is done, failed or cancelled, or gone.
class run_watch : public std::enable_shared_from_this<run_watch> {
 public:
  struct handlers {
    /// A changed run; false when the subscriber is gone (the watch stops).
    std::function<bool(const boost::json::value& run)> on_run;
    /// Nothing changed for a tick; false when the subscriber is gone.
    std::function<bool()> on_idle;
    /// Called once, after the last run, unless stopped first.
    std::function<void()> on_end;
  };
  static std::shared_ptr<run_watch> start(boost::asio::io_context& io, storage::database& db,
                                          progress_hub& hub, std::string tenant_id,
                                          std::string run_id, handlers h,
                                          std::chrono::milliseconds tick);
  /// Stops following (the subscriber left); on_end is not called.
  void stop();

  run_watch(boost::asio::io_context& io, storage::database& db, progress_hub& hub,
            std::string tenant_id, std::string run_id, handlers h, std::chrono::milliseconds tick);

 private:
  void read();
  void on_reply(storage::db_reply reply);
  void arm();
  void finish();
  void quit();

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;
  storage::database& db_;
  progress_hub& hub_;
  std::string tenant_id_;
  std::string run_id_;
  handlers h_;
  std::chrono::milliseconds tick_;
  // On the strand.
  std::uint64_t subscription_ = 0;
  bool reading_ = false;
  bool again_ = false;
  bool stopped_ = false;
  bool changed_ = false;  ///< a run was handed on since the last tick
  std::string last_;      ///< the last run handed on, serialized
};

}  // namespace nyxgate::api
