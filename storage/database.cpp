#include "storage/database.hpp"

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "storage/storage_actor.hpp"

namespace nyxgate::storage {

struct database::impl {
  explicit impl(caf::actor_system& s) : sys(s) {}
  caf::actor_system& sys;
  std::vector<storage_actor> pool;
  std::vector<std::shared_ptr<std::atomic<bool>>> up;  ///< per pool entry: its link is up
  std::atomic<std::size_t> next{0};
};

database::database(caf::actor_system& sys, boost::asio::io_context& io, database_options opts)
    : impl_(std::make_unique<impl>(sys)) {
  for (int i = 0; i < opts.pool_size; ++i) {
    storage_actor_options ao;
    ao.connection.conninfo = opts.conninfo;
    ao.connection.connect_timeout = opts.connect_timeout;
    ao.connection.query_timeout = opts.query_timeout;
    ao.connection.name = "storage-" + std::to_string(i);
    ao.max_queue = opts.max_queue;
    ao.up = std::make_shared<std::atomic<bool>>(false);
    impl_->up.push_back(ao.up);
    impl_->pool.push_back(spawn_storage_actor(sys, io, std::move(ao)));
  }
}

database::~database() {
  close();
}

void database::execute(db_batch batch, db_callback done) {
  if (impl_->pool.empty()) {
    done(db_reply::failure(db_errc::unavailable, "database closed"));
    return;
  }
  // Round robin over the connections that are up: while some reconnect (each with its own
  // backoff), the others serve. With none up, the turn's actor answers `unavailable`.
  const auto n = impl_->pool.size();
  const auto turn = impl_->next.fetch_add(1, std::memory_order_relaxed) % n;
  auto i = turn;
  for (std::size_t k = 0; k < n; ++k) {
    auto candidate = (turn + k) % n;
    if (impl_->up[candidate]->load(std::memory_order_acquire)) {
      i = candidate;
      break;
    }
  }
  caf::anon_send(impl_->pool[i], std::move(batch),
                 std::make_shared<db_sink_guard>(std::move(done)));
}

db_reply database::execute_blocking(db_batch batch, std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<db_reply>>();
  auto future = promise->get_future();
  execute(std::move(batch), [promise](db_reply r) { promise->set_value(std::move(r)); });
  if (future.wait_for(timeout) != std::future_status::ready)
    return db_reply::failure(db_errc::timeout, "no reply from storage in time");
  return future.get();
}

bool database::wait_connected(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    // Every storage actor has heard its link come up, and a batch runs.
    bool all = true;
    for (const auto& up : impl_->up) all = all && up->load(std::memory_order_acquire);
    if (all && execute_blocking(single(statement{"SELECT 1"}), std::chrono::seconds(5)).ok())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void database::close() {
  for (auto& a : impl_->pool) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  impl_->pool.clear();
}

}  // namespace nyxgate::storage
