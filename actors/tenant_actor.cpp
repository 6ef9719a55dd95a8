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

#include "actors/channels.hpp"
#include "security/key_vault.hpp"
#include "storage/database.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::actors {

namespace {

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The two statements that load a tenant: its keys (revoked ones are never candidates) and its
/// LLM defaults.
storage::db_batch load_batch(const std::string& tenant_id) {
  storage::db_batch b;
  storage::statement keys{
      "SELECT id, provider, user_id, name, hint, status, coalesce(status_reason, ''), "
      "coalesce(extract(epoch FROM cooldown_until)::bigint, 0), "
      "(extract(epoch FROM created_at) * 1000000)::bigint, "
      "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
      "encode(secret_ciphertext, 'hex'), encode(secret_nonce, 'hex'), key_version "
      "FROM api_keys WHERE tenant_id = $1 AND status <> 'revoked'"};
  keys.bind(tenant_id);
  storage::statement defaults{
      "SELECT primary_provider, fallback_provider, models::text, max_tokens, ethics "
      "FROM llm_defaults WHERE tenant_id = $1"};
  defaults.bind(tenant_id);
  b.statements.push_back(std::move(keys));
  b.statements.push_back(std::move(defaults));
  return b;
}

/// Builds the snapshot from rows; runs on a storage thread, touches no actor state.
std::shared_ptr<tenant_snapshot> decode(const std::string& tenant_id, const storage::db_reply& r,
                                        const security::key_vault* vault) {
  auto snap = std::make_shared<tenant_snapshot>();
  const auto& k = r.results.at(0);
  for (std::size_t i = 0; i < k.rows(); ++i) {
    providers::key_record rec;
    rec.id = k.at(i, 0);
    rec.provider = k.at(i, 1);
    rec.user_id = k.get(i, 2);
    rec.name = k.at(i, 3);
    rec.hint = k.at(i, 4);
    rec.status = k.at(i, 5);
    rec.status_reason = k.at(i, 6);
    rec.cooldown_until = std::atoll(k.at(i, 7).c_str());
    rec.created_at = std::atoll(k.at(i, 8).c_str());
    rec.created_at_text = k.at(i, 9);
    security::sealed_secret sealed;
    sealed.ciphertext = security::from_hex(k.at(i, 10)).value_or("");
    sealed.nonce = security::from_hex(k.at(i, 11)).value_or("");
    sealed.key_version = std::atoi(k.at(i, 12).c_str());
    auto opened = vault ? vault->open(sealed, tenant_id + ":" + rec.id)
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
  const auto& d = r.results.at(1);
  if (!d.empty()) {
    snap->defaults.primary = d.at(0, 0);
    if (!d.is_null(0, 1)) snap->defaults.fallback = d.at(0, 1);
    boost::system::error_code ec;
    auto models = boost::json::parse(d.at(0, 2), ec);
    if (!ec && models.is_object())
      for (const auto& [p, m] : models.as_object())
        if (m.is_string()) snap->defaults.models[std::string{p}] = std::string{m.as_string()};
    snap->defaults.max_tokens = std::atoll(d.at(0, 3).c_str());
    snap->defaults.ethics = d.at(0, 4);
  }
  snap->build_index();
  return snap;
}

std::string default_model(const tenant_snapshot& snap, const std::string& provider) {
  auto it = snap.defaults.models.find(provider);
  return it != snap.defaults.models.end() && !it->second.empty()
             ? it->second
             : providers::builtin_default_model(provider);
}

resolve_answer answer(const tenant_snapshot& snap, const resolve_query& q) {
  resolve_answer out;
  const std::string* user = q.user_id.empty() ? nullptr : &q.user_id;
  const providers::key_record* key = nullptr;
  auto now = now_s();
  bool by_defaults = q.model.empty() || q.model == "auto" || q.model == "default";
  if (!q.provider.empty() || by_defaults) {
    // The hot path: the first usable key of one provider, or of primary then fallback.
    const std::string& primary = q.provider.empty() ? snap.defaults.primary : q.provider;
    key = snap.first_usable(primary, user, now);
    out.provider = primary;
    if (!key && q.provider.empty() && snap.defaults.fallback &&
        *snap.defaults.fallback != primary) {
      key = snap.first_usable(*snap.defaults.fallback, user, now);
      out.provider = *snap.defaults.fallback;
      out.via_fallback = true;
    }
    if (!key) return resolve_answer{};
    out.model = default_model(snap, out.provider);
  } else {
    std::optional<std::string> user_opt;
    if (user) user_opt = *user;
    auto chain = providers::build_chain(snap.keys, snap.defaults, user_opt, q.model, now);
    if (chain.error) {
      out.error = chain.error->message;
      return out;
    }
    if (chain.elements.empty()) return out;
    const auto& first = chain.elements.front();
    key = first.key;
    out.provider = first.provider;
    out.model = first.model;
    out.via_fallback = first.via_fallback;
  }
  out.found = true;
  out.key_id = key->id;
  out.hint = key->hint;
  out.scope = key->personal() ? "personal" : "tenant";
  return out;
}

}  // namespace

void tenant_snapshot::build_index() {
  by_provider.clear();
  for (const auto& k : keys) {
    auto& idx = by_provider[k.provider];
    (k.personal() ? idx.personal : idx.tenant).push_back(&k);
  }
  auto newest_first = [](const providers::key_record* a, const providers::key_record* b) {
    return a->created_at != b->created_at ? a->created_at > b->created_at : a->id > b->id;
  };
  for (auto& [_, idx] : by_provider) {
    std::sort(idx.personal.begin(), idx.personal.end(), newest_first);
    std::sort(idx.tenant.begin(), idx.tenant.end(), newest_first);
  }
}

const providers::key_record* tenant_snapshot::first_usable(std::string_view provider,
                                                           const std::string* user,
                                                           std::int64_t now) const {
  auto it = by_provider.find(provider);
  if (it == by_provider.end()) return nullptr;
  if (user)
    for (const auto* k : it->second.personal)
      if (*k->user_id == *user && providers::usable(*k, now)) return k;
  for (const auto* k : it->second.tenant)
    if (providers::usable(*k, now)) return k;
  return nullptr;
}

namespace {

struct tenant_state {
  std::string tenant_id;
  storage::database* db = nullptr;
  std::shared_ptr<vault_ref> vault;
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
    std::string status;
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
  auto vault = st.vault->get();
  st.db->execute(load_batch(st.tenant_id), [handle, gen, vault,
                                            tenant_id = st.tenant_id](storage::db_reply r) {
    if (!r.ok()) {
      caf::anon_send(handle, loaded_atom_v, gen, tenant_snapshot_ptr{},
                     std::string{"keys unavailable: "} + std::string{storage::to_string(r.error)});
      return;
    }
    caf::anon_send(handle, loaded_atom_v, gen,
                   tenant_snapshot_ptr{decode(tenant_id, r, vault.get())}, std::string{});
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
      if (k.id == key_id && k.status != "revoked") {
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
  with_snapshot(self, [q, reply = std::move(reply)](const tenant_snapshot_ptr& snap,
                                                    const std::string& error) {
    if (snap) return reply(answer(*snap, q));
    resolve_answer failed;
    failed.error = error;
    reply(std::move(failed));
  });
}

}  // namespace

chain_answer_ptr chain_for(const tenant_snapshot_ptr& snap, const resolve_query& q) {
  auto out = std::make_shared<chain_answer>();
  out->snapshot = snap;
  out->max_tokens = snap->defaults.max_tokens;
  std::optional<std::string> user;
  if (!q.user_id.empty()) user = q.user_id;
  out->chain = providers::build_chain(snap->keys, snap->defaults, user, q.model, now_s());
  return out;
}

namespace {

std::vector<std::string> models_for(const tenant_snapshot& snap, const std::string& user_id) {
  std::vector<std::string> out;
  const std::string* user = user_id.empty() ? nullptr : &user_id;
  auto now = now_s();
  for (const char* p : {"openai", "anthropic", "google", "kimi"})
    if (snap.first_usable(p, user, now))
      out.push_back(std::string{p} + "/" + default_model(snap, p));
  return out;
}

/// A call found a key failing: the key leaves this tenant's chains at once (a new snapshot, so
/// answers already handed out stay untouched), then the status is persisted and announced.
void mark_key(tenant_pointer self, const std::string& key_id, const std::string& status,
              const std::string& reason, std::int64_t cooldown_s) {
  auto& st = self->state;
  if (!st.snapshot) return;
  auto now = now_s();
  const providers::key_record* current = nullptr;
  for (const auto& k : st.snapshot->keys)
    if (k.id == key_id) current = &k;
  if (!current || current->status == "revoked") return;
  // Concurrent calls may report the same failure: one write is enough.
  if (current->status == status && (status == "invalid" || current->cooldown_until > now)) return;
  auto seq = ++st.mark_seq;
  auto& mark = st.marks[key_id];
  mark = {status, reason, status == "cooldown" ? now + cooldown_s : 0, seq, 0};
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
  storage::db_batch b;
  b.transaction = true;
  storage::statement update{
      "UPDATE api_keys SET status = $3, status_reason = NULLIF($4, ''), cooldown_until = "
      "CASE WHEN $3 = 'cooldown' THEN now() + make_interval(secs => $5) ELSE NULL END, "
      "updated_at = now() WHERE tenant_id = $1 AND id = $2 AND status <> 'revoked'"};
  update.bind(st.tenant_id).bind(key_id).bind(status).bind(reason).bind(cooldown_s);
  b.statements.push_back(std::move(update));
  storage::statement notify{"SELECT pg_notify($1, $2)"};
  notify.bind(std::string{tenant_change_channel}).bind(st.tenant_id);
  b.statements.push_back(std::move(notify));
  auto handle = caf::actor_cast<tenant_actor>(self);
  st.db->execute(std::move(b), [handle, tenant_id = st.tenant_id, key_id,
                                seq](storage::db_reply r) {
    if (!r.ok())
      telemetry::log_warn(
          "key status not persisted",
          {{"tenant_id", tenant_id}, {"key_id", key_id}, {"error", storage::to_string(r.error)}});
    caf::anon_send(handle, completed_atom_v, key_id, seq);
  });
  telemetry::log_info(
      "api key status changed",
      {{"tenant_id", st.tenant_id}, {"key_id", key_id}, {"status", status}, {"reason", reason}});
}

tenant_actor::behavior_type tenant_fun(tenant_pointer self, std::string tenant_id,
                                       storage::database* db, std::shared_ptr<vault_ref> vault,
                                       std::shared_ptr<published_snapshot> published) {
  self->state.tenant_id = std::move(tenant_id);
  self->state.db = db;
  self->state.vault = std::move(vault);
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
        with_snapshot(
            self, [promise, q](const tenant_snapshot_ptr& snap, const std::string& error) mutable {
              if (snap)
                promise.deliver(chain_for(snap, q));
              else
                promise.deliver(make_error(tenant_errc::keys_unavailable,
                                           error.empty() ? "keys unavailable" : error));
            });
        return promise;
      },
      [self](models_atom, const std::string& user_id, models_sink& sink) {
        with_snapshot(self, [user_id, sink](const tenant_snapshot_ptr& snap, const std::string&) {
          sink->deliver(snap ? models_for(*snap, user_id) : std::vector<std::string>{});
        });
      },
      [self](key_health_atom, const std::string& key_id, const std::string& status,
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

tenant_actor spawn_tenant_actor(caf::actor_system& sys, std::string tenant_id,
                                storage::database& db, std::shared_ptr<vault_ref> vault,
                                std::shared_ptr<published_snapshot> published) {
  return sys.spawn(tenant_fun, std::move(tenant_id), &db, std::move(vault), std::move(published));
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
