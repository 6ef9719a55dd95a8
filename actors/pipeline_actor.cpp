#include "actors/pipeline_actor.hpp"

#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include "storage/async.hpp"
#include "storage/pipeline_queue_repository.hpp"
#include "storage/workflow_outputs_repository.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::actors {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace queue = storage::pipeline_queue_repository;
using strand_type = asio::strand<asio::io_context::executor_type>;

/// How one in-process call ended.
struct call_outcome {
  bool ok = false;
  std::string content;
  std::string finish_reason;
  std::string error;  ///< when not ok: the failure as the item's `error` keeps it
  served_by who;
};

std::string failure_text(const call_failure& f) {
  std::string out = "the call failed (" + std::to_string(f.status) + ")";
  if (!f.message.empty()) out += ": " + f.message;
  for (const auto& a : f.attempts) {
    out += "; " + a.provider + " (" + a.scope + ") " + std::to_string(a.status);
    if (!a.reason.empty()) out += " " + a.reason;
  }
  return out;
}

queue::served served_of(const served_by& who) {
  return queue::served{who.provider, who.key_scope, who.fallback};
}

/// The engine's end of a call: keeps the answer and hands it over once.
class collect_sink final : public call_sink {
 public:
  explicit collect_sink(std::function<void(call_outcome)> deliver) : deliver_(std::move(deliver)) {}

  void committed(const served_by& who) override {
    std::lock_guard lock(mutex_);
    who_ = who;
  }
  bool content(std::span<const content_delta> deltas) override {
    std::lock_guard lock(mutex_);
    for (const auto& d : deltas) streamed_ += d.content;
    return true;
  }
  void done(const call_result& result) override {
    call_outcome o;
    o.ok = true;
    o.finish_reason = std::string{result.finish_reason};
    std::function<void(call_outcome)> deliver;
    {
      std::lock_guard lock(mutex_);
      o.content = result.completion ? result.completion->content : std::move(streamed_);
      o.who = who_;
      deliver = std::move(deliver_);
    }
    if (deliver) deliver(std::move(o));
  }
  void failed(const call_failure& failure) override {
    call_outcome o;
    o.error = failure_text(failure);
    std::function<void(call_outcome)> deliver;
    {
      std::lock_guard lock(mutex_);
      o.who = who_;
      deliver = std::move(deliver_);
    }
    if (deliver) deliver(std::move(o));
  }
  std::size_t queued_bytes() const override { return 0; }
  void on_drained(std::function<void()>) override {}
  void on_stop(std::function<void(call_stop)> fn) override {
    std::unique_lock lock(mutex_);
    if (stopped_) {
      lock.unlock();
      fn(call_stop::client_gone);
      return;
    }
    on_stop_ = std::move(fn);
  }
  /// Cancels the call upstream (the request actor's client_gone) and ends the wait for it:
  /// a stopped call reports nothing more.
  void stop() {
    std::function<void(call_stop)> fn;
    std::function<void(call_outcome)> deliver;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
      fn = std::move(on_stop_);
      deliver = std::move(deliver_);
    }
    if (fn) fn(call_stop::client_gone);
    if (deliver) deliver(call_outcome{false, {}, {}, "the call was stopped", {}});
  }

 private:
  std::mutex mutex_;
  std::function<void(call_outcome)> deliver_;
  std::function<void(call_stop)> on_stop_;
  served_by who_;
  std::string streamed_;
  bool stopped_ = false;
};

/// An item this node runs.
struct running_item {
  std::string run_id;
  std::shared_ptr<collect_sink> sink;  ///< the call in flight, if any
  bool abandoned = false;              ///< cancelled, lease lost or the node stopping
};

class engine final : public pipeline_engine, public std::enable_shared_from_this<engine> {
 public:
  engine(caf::actor_system& sys, asio::io_context& io, std::vector<asio::io_context*> shards,
         storage::database& db, std::shared_ptr<const gateway_services> gateway,
         pipeline_options options)
      : sys_(sys),
        strand_(asio::make_strand(io)),
        shards_(std::move(shards)),
        db_(db),
        gateway_(std::move(gateway)),
        options_(std::move(options)),
        poll_timer_(strand_),
        renew_timer_(strand_) {
    if (shards_.empty()) shards_.push_back(&io);
  }

  void begin() {
    auto self = shared_from_this();
    live_ += 2;
    asio::co_spawn(strand_, claim_loop(self), asio::detached);
    asio::co_spawn(strand_, renew_loop(self), asio::detached);
  }

  void wake() override {
    asio::post(strand_, [self = shared_from_this()] {
      self->woken_ = true;
      self->poll_timer_.cancel();
    });
  }

  void cancel_run(std::string run_id) override {
    asio::post(strand_, [self = shared_from_this(), run_id = std::move(run_id)] {
      bool held = false;
      for (auto& [id, item] : self->items_) {
        if (item.run_id != run_id) continue;
        held = true;
        item.abandoned = true;
        if (item.sink) item.sink->stop();
      }
      if (held) asio::co_spawn(self->strand_, cancel_held(self, run_id), asio::detached);
    });
  }

  void stop(std::chrono::milliseconds timeout) override {
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    asio::post(strand_, [self = shared_from_this(), done] {
      self->stopping_ = true;
      self->poll_timer_.cancel();
      self->renew_timer_.cancel();
      for (auto& [id, item] : self->items_) {
        item.abandoned = true;
        if (item.sink) item.sink->stop();
      }
      done->set_value();
    });
    // The stopped calls report at once; wait for every coroutine to end before the I/O stops.
    auto until = std::chrono::steady_clock::now() + timeout;
    future.wait_until(until);
    while (live_.load() > 0 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto reply = db_.execute_blocking(storage::single(queue::release_all(options_.owner)), timeout);
    if (!reply.ok())
      telemetry::log_warn("releasing workflow items failed",
                          {{"error", storage::to_string(reply.error)}});
  }

 private:
  static asio::awaitable<void> cancel_held(std::shared_ptr<engine> self, std::string run_id) {
    // Batches and other temporaries are named before a co_await: GCC 12 mis-copies temporaries
    // that live across one.
    auto batch = queue::cancel_held(self->options_.owner, run_id);
    auto reply = co_await storage::async_execute(self->db_, std::move(batch));
    if (!reply.ok())
      telemetry::log_warn("cancelling a run's items failed",
                          {{"run_id", run_id}, {"error", storage::to_string(reply.error)}});
  }

  static asio::awaitable<void> claim_loop(std::shared_ptr<engine> self) {
    while (!self->stopping_) {
      auto room = self->options_.node_concurrency - static_cast<std::int64_t>(self->items_.size());
      std::size_t claimed = 0;
      if (room > 0) {
        queue::claim_limits limits{room, self->options_.tenant_concurrency,
                                   self->options_.run_concurrency, self->options_.lease_s};
        auto batch = queue::claim(self->options_.owner, limits);
        auto reply = co_await storage::async_execute(self->db_, std::move(batch));
        if (self->stopping_) break;
        if (reply.ok()) {
          auto rows = queue::claimed_rows(reply.results.back());
          claimed = rows.size();
          for (auto& row : rows) self->launch(std::move(row));
        } else {
          telemetry::log_warn("claiming workflow items failed",
                              {{"error", storage::to_string(reply.error)}});
        }
      }
      // A full claim may have left more: claim again at once while there is room.
      if (claimed > 0 && static_cast<std::int64_t>(claimed) == room) continue;
      if (self->woken_) {
        self->woken_ = false;
        continue;
      }
      self->poll_timer_.expires_after(self->options_.poll);
      boost::system::error_code ec;
      co_await self->poll_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      self->woken_ = false;
    }
    --self->live_;
  }

  static asio::awaitable<void> renew_loop(std::shared_ptr<engine> self) {
    auto period = std::chrono::milliseconds(self->options_.lease_s * 1000 / 3);
    while (!self->stopping_) {
      self->renew_timer_.expires_after(period);
      boost::system::error_code ec;
      co_await self->renew_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (self->stopping_) break;
      if (self->items_.empty()) continue;
      // Items claimed while the renewal runs may be missing from its answer: only the ones
      // held before it are checked.
      std::vector<std::string> before;
      for (const auto& [id, item] : self->items_) before.push_back(id);
      auto batch = storage::single(queue::renew(self->options_.owner, self->options_.lease_s));
      auto reply = co_await storage::async_execute(self->db_, std::move(batch));
      if (!reply.ok()) {
        telemetry::log_warn("renewing workflow leases failed",
                            {{"error", storage::to_string(reply.error)}});
        continue;
      }
      std::unordered_set<std::string> held;
      const auto& r = reply.results.front();
      for (std::size_t i = 0; i < r.rows(); ++i) held.insert(r.at(i, 0));
      for (const auto& id : before) {
        auto it = self->items_.find(id);
        if (it == self->items_.end() || held.contains(id)) continue;
        it->second.abandoned = true;
        if (it->second.sink) it->second.sink->stop();
      }
    }
    --self->live_;
  }

  void launch(queue::claimed_item row) {
    auto id = row.id;
    items_[id] = running_item{row.run_id, nullptr, false};
    ++live_;
    auto self = shared_from_this();
    asio::co_spawn(strand_, run_item(self, std::move(row)), asio::detached);
  }

  /// Frees the item's slot and claims again: there is room now.
  void finished(const std::string& id) {
    items_.erase(id);
    if (!stopping_) {
      woken_ = true;
      poll_timer_.cancel();
    }
  }

  bool abandoned(const std::string& id) const {
    auto it = items_.find(id);
    return it == items_.end() || it->second.abandoned || stopping_;
  }

  asio::awaitable<call_outcome> call(const queue::claimed_item& row,
                                     const workflows::call_step& step) {
    auto request = std::make_shared<providers::chat_request>();
    request->model = "auto";
    request->stream = false;
    for (const auto& m : step.messages)
      request->messages.push_back(providers::chat_message{m.role, m.content, {}});
    chat_call c;
    c.tenant_id = row.tenant_id;
    c.user_id = row.created_by;
    c.request_id = row.id;
    c.request = std::move(request);
    c.received_at = std::chrono::steady_clock::now();
    c.home = shards_[next_shard_++ % shards_.size()];
    c.run_id = row.run_id;
    c.item_id = row.id;
    auto self = shared_from_this();
    auto outcome = asio::async_initiate<const asio::use_awaitable_t<>, void(call_outcome)>(
        [self, &row](auto handler, chat_call prepared) {
          auto ex = asio::get_associated_executor(handler);
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          auto sink = std::make_shared<collect_sink>([shared, ex](call_outcome o) {
            asio::post(ex, [shared, o = std::move(o)]() mutable { (*shared)(std::move(o)); });
          });
          auto it = self->items_.find(row.id);
          if (it != self->items_.end()) {
            it->second.sink = sink;
            if (it->second.abandoned) sink->stop();
          }
          prepared.sink = std::move(sink);
          spawn_request_actor(self->sys_, self->gateway_, std::move(prepared));
        },
        asio::use_awaitable, std::move(c));
    co_return co_await std::move(outcome);
  }

  /// The batch that writes the item's product and marks it done.
  storage::db_batch complete(const queue::claimed_item& row, workflows::kind kind,
                             const workflows::item_product& product, const queue::served& by) {
    namespace outputs = storage::workflow_outputs_repository;
    std::optional<std::string> creator;
    if (!row.created_by.empty()) creator = row.created_by;
    std::vector<storage::statement> writes;
    if (kind == workflows::kind::blog) {
      writes.push_back(outputs::lock_post_slugs(row.tenant_id, row.project_id));
      writes.push_back(
          outputs::insert_draft_post({row.tenant_id, row.project_id, creator, product.title,
                                      product.body, product.source_note_ids}));
      return queue::complete({row.tenant_id, row.run_id, row.id, options_.owner}, std::move(writes),
                             queue::product_table::post, row.project_id, by);
    }
    writes.push_back(outputs::write_doc(
        {row.tenant_id, row.project_id, creator, product.title, product.body, product.doc_id}));
    return queue::complete({row.tenant_id, row.run_id, row.id, options_.owner}, std::move(writes),
                           queue::product_table::doc, row.project_id, by);
  }

  /// Runs a batch that ends the item's claim; a lost lease is no error (another node has it).
  asio::awaitable<void> write(const queue::claimed_item& row, storage::db_batch batch) {
    auto reply = co_await storage::async_execute(db_, std::move(batch));
    if (reply.ok()) co_return;
    if (reply.sqlstate == queue::lease_lost_sqlstate) {
      telemetry::log_info("workflow item lease lost before its write", {{"item_id", row.id}});
      co_return;
    }
    if (reply.sqlstate == queue::no_product_sqlstate) {
      auto failed = queue::fail({row.tenant_id, row.run_id, row.id, options_.owner},
                                "the product could not be written: its project, a source note "
                                "or the doc to refresh is gone");
      auto again = co_await storage::async_execute(db_, std::move(failed));
      if (again.ok() || again.sqlstate == queue::lease_lost_sqlstate) co_return;
      reply = std::move(again);
    }
    telemetry::log_warn("writing a workflow item failed",
                        {{"item_id", row.id}, {"error", storage::to_string(reply.error)}});
  }

  static asio::awaitable<void> run_item(std::shared_ptr<engine> self, queue::claimed_item row) {
    try {
      co_await self->process(row);
    } catch (const std::exception& e) {
      telemetry::log_warn("workflow item stopped", {{"item_id", row.id}, {"error", e.what()}});
    }
    self->finished(row.id);
    --self->live_;
  }

  asio::awaitable<void> process(const queue::claimed_item& row) {
    queue::held_item held{row.tenant_id, row.run_id, row.id, options_.owner};
    auto kind = workflows::kind_from_string(row.kind);
    boost::system::error_code ec;
    auto run_input = json::parse(row.run_input, ec);
    auto context = ec ? std::nullopt : workflows::run_context_of(run_input);
    auto input = json::parse(row.input, ec);
    if (!kind || !context || ec) {
      auto failed = queue::fail(held, "the run or item input cannot be read");
      co_await write(row, std::move(failed));
      co_return;
    }
    std::vector<std::string> answers;
    if (row.output) {
      auto earlier = json::parse(*row.output, ec);
      if (!ec && earlier.is_object())
        if (const auto* a = earlier.as_object().if_contains("answers"); a && a->is_array())
          for (const auto& v : a->as_array())
            if (v.is_string()) answers.emplace_back(v.as_string());
    }
    std::optional<std::string> partial = row.partial;
    const bool continued = partial.has_value();
    served_by last;
    while (true) {
      auto next = workflows::advance(*kind, *context, input, answers, options_.context_chars);
      if (auto* product = std::get_if<workflows::item_product>(&next)) {
        if (abandoned(row.id)) co_return;
        auto completed = complete(row, *kind, *product, served_of(last));
        co_await write(row, std::move(completed));
        co_return;
      }
      const auto& step = std::get<workflows::call_step>(next);
      const bool continuing = partial.has_value();
      auto request = continuing ? workflows::continuation(step, *partial) : step;
      auto outcome = co_await call(row, request);
      if (abandoned(row.id)) co_return;
      if (auto it = items_.find(row.id); it != items_.end()) it->second.sink.reset();
      if (!outcome.ok) {
        auto failed = queue::fail(held, outcome.error);
        co_await write(row, std::move(failed));
        co_return;
      }
      last = outcome.who;
      if (outcome.finish_reason == "length") {
        if (continued) {
          auto failed = queue::fail(
              held, "the answer was cut by the output limit again after its continuation");
          co_await write(row, std::move(failed));
          co_return;
        }
        json::array earlier;
        for (const auto& a : answers) earlier.emplace_back(a);
        json::object kept{{"answers", std::move(earlier)}};
        auto cut = queue::truncate(held, outcome.content, json::serialize(kept), served_of(last));
        co_await write(row, std::move(cut));
        co_return;
      }
      if (continuing) {
        answers.push_back(*partial + outcome.content);
        partial.reset();
      } else {
        answers.push_back(std::move(outcome.content));
      }
    }
  }

  caf::actor_system& sys_;
  strand_type strand_;
  std::vector<asio::io_context*> shards_;
  std::size_t next_shard_ = 0;
  storage::database& db_;
  std::shared_ptr<const gateway_services> gateway_;
  pipeline_options options_;
  asio::steady_timer poll_timer_;
  asio::steady_timer renew_timer_;
  std::unordered_map<std::string, running_item> items_;
  bool woken_ = false;
  bool stopping_ = false;
  std::atomic<int> live_{0};  ///< coroutines not yet ended: the loops and the items
};

}  // namespace

std::shared_ptr<pipeline_engine> pipeline_engine::start(
    caf::actor_system& sys, asio::io_context& io, std::vector<asio::io_context*> shards,
    storage::database& db, std::shared_ptr<const gateway_services> gateway,
    pipeline_options options) {
  auto e = std::make_shared<engine>(sys, io, std::move(shards), db, std::move(gateway),
                                    std::move(options));
  e->begin();
  return e;
}

}  // namespace nyxgate::actors
