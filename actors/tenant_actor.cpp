#include "actors/tenant_actor.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "security/key_vault.hpp"
#include "storage/api_keys_repository.hpp"
#include "storage/channels.hpp"
#include "storage/database.hpp"
#include "storage/llm_defaults_repository.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::actors {

namespace {

using providers::key_status;
namespace keys = storage::api_keys_repository;
namespace defaults = storage::llm_defaults_repository;

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The two statements that load a tenant: its keys (revoked ones are never candidates) and its
/// LLM defaults.
storage::db_batch load_batch(const std::string& tenant_id) {
  storage::db_batch b;
  b.statements.push_back(keys::tenant_keys(tenant_id));
  b.statements.push_back(defaults::tenant_defaults(tenant_id));
  return b;
}

/// Builds the snapshot from rows; runs on a storage thread, touches no actor state.
std::shared_ptr<tenant_snapshot> decode(const std::string& tenant_id, const storage::db_reply& r,
                                        const security::key_vault* vault) {
  auto snap = std::make_shared<tenant_snapshot>();
  for (auto& row : keys::sealed_key_rows(r.results.at(0))) {
    providers::key_record rec;
    rec.id = std::move(row.key.id);
    rec.provider = std::move(row.key.provider);
    rec.user_id = std::move(row.user_id);
    rec.name = std::move(row.key.name);
    rec.hint = std::move(row.key.hint);
    rec.status = row.key.status;
    rec.status_reason = std::move(row.key.status_reason).value_or("");
    rec.cooldown_until = row.cooldown_until_s;
    rec.created_at = row.created_at_us;
    rec.created_at_text = std::move(row.key.created_at);
    auto opened = vault ? vault->open(row.sealed, tenant_id + ":" + rec.id)
                        : std::variant<std::string, security::vault_errc>{
                              security::vault_errc::unknown_key_version};
    if (auto* err = std::get_if<security::vault_errc>(&opened)) {
      // Loud, and the key is left out: a key that does not decrypt must never be sent anywhere.
      telemetry::log_error(
          "api key does not decrypt",
          {{"tenant_id", tenant_id}, {"key_id", rec.id}, {"error", security::to_string(*err)}});
      snap->unreadable_keys.push_back(rec.id);
      continue;
    }
    rec.secret = std::get<std::string>(std::move(opened));
    snap->keys.push_back(std::move(rec));
  }
  if (auto d = defaults::defaults_of(r.results.at(1))) {
    snap->defaults.primary = std::move(d->primary);
    snap->defaults.fallback = std::move(d->fallback);
    boost::system::error_code ec;
    auto models = boost::json::parse(d->models, ec);
    if (!ec && models.is_object())
      for (const auto& [p, m] : models.as_object())
        if (m.is_string()) snap->defaults.models[std::string{p}] = std::string{m.as_string()};
    snap->defaults.max_tokens = d->max_tokens;
    snap->defaults.ethics = std::move(d->ethics);
  }
  snap->build_index();
  return snap;
}

resolve_answer answer(const tenant_snapshot& snap, const resolve_query& q, std::int64_t now) {
  resolve_answer out;
  auto chain =
      providers::build_chain(snap.index, snap.defaults, {q.user_id, q.provider, q.model, 1}, now);
  if (chain.error) {
    out.error = chain.error->message;
    return out;
  }
  if (chain.elements.empty()) return out;
  const auto& first = chain.elements.front();
  out.found = true;
  out.provider = first.provider;
  out.model = first.model;
  out.via_fallback = first.via_fallback;
  out.key_id = first.key->id;
  out.hint = first.key->hint;
  out.scope = first.scope();
  return out;
}

}  // namespace

tenant_snapshot::tenant_snapshot(const tenant_snapshot& other)
    : keys(other.keys), defaults(other.defaults), unreadable_keys(other.unreadable_keys) {
  build_index();
}

namespace {

struct tenant_state {
  std::string tenant_id;
  tenant_io io;
  tenant_snapshot_ptr snapshot;
  std::shared_ptr<published_snapshot> published;  ///< `snapshot`, for calls to read
  std::uint64_t generation = 0;
  bool loading = false;
  /// Questions that arrived before the first load finished; run with the load's error.
  std::vector<std::function<void(const std::string&)>> waiting;
  std::int64_t key_writes = 0;
  /// Reloads asked for while a load ran: they need a load that starts after them.
  std::vector<done_sink> next_load_waiters;
  std::vector<done_sink> current_load_waiters;
  /// Key health changes a load may not have seen yet: a load that read the keys before the
  /// status write committed would bring the failed key back. Each mark is re-applied to loaded
  /// snapshots until a load starts after its write ended (`visible_from`, 0 while it runs).
  struct key_mark {
    key_status status = key_status::active;
    std::string reason;
    std::int64_t cooldown_until = 0;
    std::uint64_t seq = 0;
    std::uint64_t visible_from = 0;
  };
  std::map<std::string, key_mark> marks;
  std::uint64_t mark_seq = 0;

  static inline const char* name = "tenant";
};

using tenant_pointer = tenant_actor::stateful_pointer<tenant_state>;

void set_snapshot(tenant_state& st, tenant_snapshot_ptr snap) {
  st.snapshot = std::move(snap);
  if (st.published) st.published->store(st.snapshot);
}

void start_load(tenant_pointer self) {
  auto& st = self->state;
  st.loading = true;
  auto gen = ++st.generation;
  st.current_load_waiters = std::move(st.next_load_waiters);
  st.next_load_waiters.clear();
  auto handle = caf::actor_cast<tenant_actor>(self);
  st.io.load([handle, gen](tenant_snapshot_ptr snap, std::string error) {
    caf::anon_send(handle, loaded_atom_v, gen, std::move(snap), std::move(error));
  });
}

/// A loaded snapshot with the health changes its load may have missed; marks the load saw
/// are forgotten.
tenant_snapshot_ptr reapply_marks(tenant_state& st, std::uint64_t gen, tenant_snapshot_ptr snap) {
  std::shared_ptr<tenant_snapshot> changed;
  for (auto it = st.marks.begin(); it != st.marks.end();) {
    const auto& [key_id, mark] = *it;
    if (mark.visible_from != 0 && gen >= mark.visible_from) {
      it = st.marks.erase(it);
      continue;
    }
    if (!changed) changed = std::make_shared<tenant_snapshot>(*snap);
    for (auto& k : changed->keys)
      if (k.id == key_id && k.status != key_status::revoked) {
        k.status = mark.status;
        k.status_reason = mark.reason;
        k.cooldown_until = mark.cooldown_until;
      }
    ++it;
  }
  if (!changed) return snap;
  changed->build_index();
  return changed;
}

void on_loaded(tenant_pointer self, std::uint64_t gen, tenant_snapshot_ptr snap,
               const std::string& error) {
  auto& st = self->state;
  if (gen != st.generation) return;
  st.loading = false;
  if (snap) set_snapshot(st, reapply_marks(st, gen, std::move(snap)));
  for (auto& w : st.current_load_waiters) w->deliver(error);
  st.current_load_waiters.clear();
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  for (auto& w : waiting) w(error);
  if (!st.next_load_waiters.empty()) start_load(self);
}

/// Runs `fn` with the current snapshot, loading it first when there is none yet (then a
/// failed load passes nullptr and the error).
template <class Fn>
void with_snapshot(tenant_pointer self, Fn fn) {
  auto& st = self->state;
  // While a reload runs the previous snapshot still answers: the writer that asked for the
  // reload waits for it before its mutation returns.
  if (st.snapshot) return fn(st.snapshot, std::string{});
  st.waiting.emplace_back([self, fn = std::move(fn)](const std::string& error) mutable {
    fn(self->state.snapshot, error);
  });
  if (!st.loading) start_load(self);
}

void resolve(tenant_pointer self, const resolve_query& q,
             std::function<void(resolve_answer)> reply) {
  with_snapshot(self, [self, q, reply = std::move(reply)](const tenant_snapshot_ptr& snap,
                                                          const std::string& error) {
    if (snap) return reply(answer(*snap, q, self->state.io.now_s()));
    resolve_answer failed;
    failed.error = error;
    reply(std::move(failed));
  });
}

}  // namespace

chain_answer_ptr chain_for(const tenant_snapshot_ptr& snap, const resolve_query& q) {
  return chain_for(snap, q, now_s());
}

chain_answer_ptr chain_for(const tenant_snapshot_ptr& snap, const resolve_query& q,
                           std::int64_t now) {
  auto out = std::make_shared<chain_answer>();
  out->snapshot = snap;
  out->max_tokens = snap->defaults.max_tokens;
  out->chain =
      providers::build_chain(snap->index, snap->defaults, {q.user_id, q.provider, q.model}, now);
  return out;
}

namespace {

/// Per chat provider with a usable key, its default model as "provider/model".
std::vector<std::string> models_for(const tenant_snapshot& snap, const std::string& user_id,
                                    std::int64_t now) {
  std::vector<std::string> out;
  for (const auto& p : providers::chat_providers()) {
    auto chain = providers::build_chain(snap.index, snap.defaults, {user_id, p.id, {}, 1}, now);
    if (!chain.elements.empty())
      out.push_back(chain.elements.front().provider + "/" + chain.elements.front().model);
  }
  return out;
}

/// A call found a key failing: the key leaves this tenant's chains at once (a new snapshot, so
/// answers already handed out stay untouched), then the status is persisted and announced.
void mark_key(tenant_pointer self, const std::string& key_id, key_status status,
              const std::string& reason, std::int64_t cooldown_s) {
  auto& st = self->state;
  if (!st.snapshot) return;
  auto now = st.io.now_s();
  const providers::key_record* current = nullptr;
  for (const auto& k : st.snapshot->keys)
    if (k.id == key_id) current = &k;
  if (!current || current->status == key_status::revoked) return;
  // Concurrent calls may report the same failure: one write is enough.
  if (current->status == status && (status == key_status::invalid || current->cooldown_until > now))
    return;
  auto seq = ++st.mark_seq;
  auto& mark = st.marks[key_id];
  mark = {status, reason, status == key_status::cooldown ? now + cooldown_s : 0, seq, 0};
  auto next = std::make_shared<tenant_snapshot>(*st.snapshot);
  for (auto& k : next->keys)
    if (k.id == key_id) {
      k.status = status;
      k.status_reason = reason;
      k.cooldown_until = mark.cooldown_until;
    }
  next->build_index();
  set_snapshot(st, std::move(next));
  ++st.key_writes;
  auto handle = caf::actor_cast<tenant_actor>(self);
  st.io.write_key_health(key_id, status, reason, cooldown_s, [handle, key_id, seq] {
    caf::anon_send(handle, completed_atom_v, key_id, seq);
  });
  telemetry::log_info("api key status changed", {{"tenant_id", st.tenant_id},
                                                 {"key_id", key_id},
                                                 {"status", providers::to_string(status)},
                                                 {"reason", reason}});
}

tenant_actor::behavior_type tenant_fun(tenant_pointer self, std::string tenant_id, tenant_io io,
                                       std::shared_ptr<published_snapshot> published) {
  self->state.tenant_id = std::move(tenant_id);
  self->state.io = std::move(io);
  self->state.published = std::move(published);
  return {
      [self](resolve_atom, const resolve_query& q, resolve_sink& sink) {
        resolve(self, q, [sink](resolve_answer a) { sink->deliver(std::move(a)); });
      },
      [self](resolve_atom, const resolve_query& q) -> caf::result<resolve_answer> {
        auto promise = self->make_response_promise<resolve_answer>();
        resolve(self, q, [promise](resolve_answer a) mutable { promise.deliver(std::move(a)); });
        return promise;
      },
      [self](chain_atom, const resolve_query& q) -> caf::result<chain_answer_ptr> {
        auto promise = self->make_response_promise<chain_answer_ptr>();
        with_snapshot(self, [self, promise, q](const tenant_snapshot_ptr& snap,
                                               const std::string& error) mutable {
          if (snap)
            promise.deliver(chain_for(snap, q, self->state.io.now_s()));
          else
            promise.deliver(
                make_error(tenant_errc::keys_unavailable, error.empty() ? "keys unavailable" : error));
        });
        return promise;
      },
      [self](models_atom, const std::string& user_id, models_sink& sink) {
        with_snapshot(self,
                      [self, user_id, sink](const tenant_snapshot_ptr& snap, const std::string&) {
                        sink->deliver(snap ? models_for(*snap, user_id, self->state.io.now_s())
                                           : std::vector<std::string>{});
                      });
      },
      [self](key_health_atom, const std::string& key_id, key_status status,
             const std::string& reason,
             std::int64_t cooldown_s) { mark_key(self, key_id, status, reason, cooldown_s); },
      [self](completed_atom, const std::string& key_id, std::uint64_t seq) {
        // Loads from the next one on read the keys after the write: they need no help.
        auto& st = self->state;
        auto it = st.marks.find(key_id);
        if (it != st.marks.end() && it->second.seq == seq)
          it->second.visible_from = st.generation + 1;
      },
      [self](reload_atom, done_sink& sink) {
        self->state.next_load_waiters.push_back(std::move(sink));
        if (!self->state.loading) start_load(self);
      },
      [self](loaded_atom, std::uint64_t gen, tenant_snapshot_ptr& snap, const std::string& error) {
        on_loaded(self, gen, std::move(snap), error);
      },
  };
}

/// `unused` only gives the spawn an argument: CAF 0.17 dereferences a null argument tuple when
/// a function-based actor is spawned without any (UBSan reports it).
echo_actor::behavior_type echo_fun(int unused) {
  static_cast<void>(unused);
  return {
      [](ping_atom, const resolve_query&, resolve_sink& sink) { sink->deliver(resolve_answer{}); },
  };
}

}  // namespace

tenant_io database_io(const std::string& tenant_id, storage::database& db,
                      std::shared_ptr<vault_ref> vault) {
  tenant_io io;
  io.load = [tenant_id, db = &db,
             vault](std::function<void(tenant_snapshot_ptr, std::string)> done) {
    db->execute(load_batch(tenant_id),
                [tenant_id, vault = vault->get(), done = std::move(done)](storage::db_reply r) {
                  if (!r.ok())
                    return done(nullptr, std::string{"keys unavailable: "} +
                                             std::string{storage::to_string(r.error)});
                  done(decode(tenant_id, r, vault.get()), std::string{});
                });
  };
  io.write_key_health = [tenant_id, db = &db](const std::string& key_id, key_status status,
                                              const std::string& reason, std::int64_t cooldown_s,
                                              std::function<void()> done) {
    storage::db_batch b;
    b.transaction = true;
    b.statements.push_back(keys::set_status(tenant_id, key_id, status, reason, cooldown_s));
    b.statements.push_back(storage::notify(storage::tenant_change_channel, tenant_id));
    db->execute(std::move(b), [tenant_id, key_id, done = std::move(done)](storage::db_reply r) {
      if (!r.ok())
        telemetry::log_warn(
            "key status not persisted",
            {{"tenant_id", tenant_id}, {"key_id", key_id}, {"error", storage::to_string(r.error)}});
      done();
    });
  };
  io.now_s = now_s;
  return io;
}

tenant_actor spawn_tenant_actor(caf::actor_system& sys, std::string tenant_id, tenant_io io,
                                std::shared_ptr<published_snapshot> published) {
  return sys.spawn(tenant_fun, std::move(tenant_id), std::move(io), std::move(published));
}

tenant_actor spawn_tenant_actor(caf::actor_system& sys, std::string tenant_id,
                                storage::database& db, std::shared_ptr<vault_ref> vault,
                                std::shared_ptr<published_snapshot> published) {
  auto io = database_io(tenant_id, db, std::move(vault));
  return spawn_tenant_actor(sys, std::move(tenant_id), std::move(io), std::move(published));
}

echo_actor spawn_echo_actor(caf::actor_system& sys) {
  return sys.spawn(echo_fun, 0);
}

tenant_directory::tenant_directory(caf::actor_system& sys, storage::database& db,
                                   std::shared_ptr<vault_ref> vault)
    : sys_(sys), db_(db), vault_(std::move(vault)) {}

tenant_directory::~tenant_directory() {
  stop_all();
}

tenant_directory::entry tenant_directory::lookup(const std::string& tenant_id) {
  std::lock_guard lock(mutex_);
  auto it = actors_.find(tenant_id);
  if (it != actors_.end()) return it->second;
  auto published = std::make_shared<published_snapshot>();
  entry e{spawn_tenant_actor(sys_, tenant_id, db_, vault_, published), published};
  actors_.emplace(tenant_id, e);
  return e;
}

std::optional<tenant_actor> tenant_directory::find(const std::string& tenant_id) {
  std::lock_guard lock(mutex_);
  auto it = actors_.find(tenant_id);
  if (it == actors_.end()) return std::nullopt;
  return it->second.actor;
}

std::vector<tenant_actor> tenant_directory::all() {
  std::lock_guard lock(mutex_);
  std::vector<tenant_actor> out;
  for (auto& [_, e] : actors_) out.push_back(e.actor);
  return out;
}

void tenant_directory::stop_all() {
  std::lock_guard lock(mutex_);
  for (auto& [_, e] : actors_) caf::anon_send_exit(e.actor, caf::exit_reason::user_shutdown);
  actors_.clear();
}

}  // namespace nyxgate::actors
