#include "storage/storage_actor.hpp"

#include <deque>
#include <variant>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <boost/asio/io_context.hpp>

namespace nyxgate::storage {
namespace {

struct pending_batch {
  db_batch batch;
  std::variant<caf::typed_response_promise<db_reply>, db_sink> reply_to;

  void deliver(db_reply reply) {
    if (auto* promise = std::get_if<0>(&reply_to)) {
      promise->deliver(std::move(reply));
    } else if (auto& sink = std::get<1>(reply_to)) {
      sink->deliver(std::move(reply));
    }
  }
};

struct storage_state {
  std::shared_ptr<detail::pg_connection> connection;
  std::deque<pending_batch> queue;  ///< front() is running when `running` is true
  bool running = false;
  bool link_up = false;
  std::uint64_t seq = 0;
  std::size_t max_queue = 256;

  static inline const char* name = "storage";
};

using storage_pointer = storage_actor::stateful_pointer<storage_state>;

void run_next(storage_pointer self) {
  auto& st = self->state;
  while (!st.running && !st.queue.empty()) {
    if (!st.link_up) {
      // A clear error now beats a caller waiting for a reconnect that may take seconds.
      auto item = std::move(st.queue.front());
      st.queue.pop_front();
      item.deliver(db_reply::failure(db_errc::unavailable, "database unavailable, reconnecting"));
      continue;
    }
    st.running = true;
    auto seq = ++st.seq;
    auto handle = caf::actor_cast<storage_actor>(self);
    st.connection->execute(st.queue.front().batch, [handle, seq](db_reply reply) {
      caf::anon_send(handle, batch_done_atom_v, seq, std::move(reply));
    });
  }
}

void enqueue(storage_pointer self, pending_batch item) {
  auto& st = self->state;
  if (st.queue.size() >= st.max_queue + (st.running ? 1 : 0)) {
    item.deliver(db_reply::failure(db_errc::overloaded, "storage queue full"));
    return;
  }
  st.queue.push_back(std::move(item));
  run_next(self);
}

storage_actor::behavior_type storage_fun(storage_pointer self, boost::asio::io_context* io,
                                         storage_actor_options opts) {
  self->state.max_queue = opts.max_queue;
  self->state.connection = detail::pg_connection::create(*io, std::move(opts.connection));
  auto handle = caf::actor_cast<storage_actor>(self);
  // The connection outlives no one: its callbacks hold a handle and only send messages.
  self->state.connection->start(
      [weak = caf::actor_cast<caf::weak_actor_ptr>(handle), flag = opts.up](bool up) {
        // Down is published before the actor hears it, up after: a batch sent because the
        // flag says up always finds the actor knowing it.
        if (flag && !up) flag->store(false, std::memory_order_release);
        if (auto strong = caf::actor_cast<storage_actor>(weak))
          caf::anon_send(strong, link_atom_v, up);
        if (flag && up) flag->store(true, std::memory_order_release);
      });
  self->attach_functor([conn = self->state.connection] { conn->close(); });
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    for (auto& item : self->state.queue)
      item.deliver(db_reply::failure(db_errc::unavailable, "storage actor stopped"));
    self->state.queue.clear();
    self->quit(msg.reason);
  });
  return {
      [self](db_batch& batch) -> caf::result<db_reply> {
        auto promise = self->make_response_promise<db_reply>();
        enqueue(self, pending_batch{std::move(batch), promise});
        return promise;
      },
      [self](db_batch& batch, db_sink& sink) {
        enqueue(self, pending_batch{std::move(batch), std::move(sink)});
      },
      [self](batch_done_atom, std::uint64_t seq, db_reply& reply) {
        auto& st = self->state;
        if (!st.running || seq != st.seq) return;
        auto item = std::move(st.queue.front());
        st.queue.pop_front();
        st.running = false;
        item.deliver(std::move(reply));
        run_next(self);
      },
      [self](link_atom, bool up) {
        self->state.link_up = up;
        run_next(self);
      },
  };
}

}  // namespace

storage_actor spawn_storage_actor(caf::actor_system& sys, boost::asio::io_context& io,
                                  storage_actor_options opts) {
  return sys.spawn(storage_fun, &io, std::move(opts));
}

}  // namespace nyxgate::storage
