#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "providers/resolution.hpp"

namespace nyxgate::storage {
class database;
}
namespace nyxgate::security {
class key_vault;
}

namespace nyxgate::actors {

struct tenant_snapshot {
  std::vector<providers::key_record> keys;
  providers::llm_defaults defaults;
  /// Keys that failed to decrypt (tampered, unknown master key version): never used.
  std::vector<std::string> unreadable_keys;
  /// `keys` per provider in chain order, built once per snapshot: every resolution walks it.
  providers::key_index index;

  tenant_snapshot() = default;
  /// A copy indexes its own keys (the index points into `keys`).
  tenant_snapshot(const tenant_snapshot& other);
  tenant_snapshot& operator=(const tenant_snapshot&) = delete;

  /// Call after `keys` changed.
  void build_index() { index.build(keys); }
};

/// The vault is shared read-only; replacing it (master key rotation) swaps the pointer.
struct vault_ref {
  std::mutex mutex;
  std::shared_ptr<const security::key_vault> vault;
  std::shared_ptr<const security::key_vault> get() {
    std::lock_guard lock(mutex);
    return vault;
  }
};

/// A tenant actor's current snapshot, published for calls to read without a message. Only
/// the actor writes it, whenever its snapshot changes (a load, a key found failing); empty
/// until the first load finished.
class published_snapshot {
 public:
  tenant_snapshot_ptr load() const { return current_.load(std::memory_order_acquire); }
  void store(tenant_snapshot_ptr snap) {
    current_.store(std::move(snap), std::memory_order_release);
  }

 private:
  std::atomic<tenant_snapshot_ptr> current_;
};

/// A call's chain from a loaded snapshot (SPEC §3).
chain_answer_ptr chain_for(const tenant_snapshot_ptr& snap, const resolve_query& q);
/// The same at `now_s` (unix seconds) rather than the wall clock's.
chain_answer_ptr chain_for(const tenant_snapshot_ptr& snap, const resolve_query& q,
                           std::int64_t now_s);

/// What a tenant actor reads and writes outside itself: the database in production, a script
/// in tests that step the actor deterministically. The callbacks may run on any thread.
struct tenant_io {
  /// Loads the tenant's snapshot; `done` gets it, or nullptr and what failed.
  std::function<void(std::function<void(tenant_snapshot_ptr, std::string)> done)> load;
  /// Persists a key's health and announces it to other nodes; `done` runs when the write ended
  /// (whether or not it succeeded: a failure is logged).
  std::function<void(const std::string& key_id, providers::key_status status,
                     const std::string& reason, std::int64_t cooldown_s,
                     std::function<void()> done)>
      write_key_health;
  std::function<std::int64_t()> now_s;  ///< unix seconds: cooldowns start from it
};

/// The tenant's keys and defaults from PostgreSQL, secrets opened with the current vault.
tenant_io database_io(const std::string& tenant_id, storage::database& db,
                      std::shared_ptr<vault_ref> vault);

tenant_actor spawn_tenant_actor(caf::actor_system& sys, std::string tenant_id, tenant_io io,
                                std::shared_ptr<published_snapshot> published = nullptr);
tenant_actor spawn_tenant_actor(caf::actor_system& sys, std::string tenant_id,
                                storage::database& db, std::shared_ptr<vault_ref> vault,
                                std::shared_ptr<published_snapshot> published = nullptr);
echo_actor spawn_echo_actor(caf::actor_system& sys);

/// A tenant's actor and what it published.
struct tenant_entry {
  tenant_actor actor;
  std::shared_ptr<const published_snapshot> published;
};

/// Where a call finds its tenant: the tenant directory (a fake in actor tests).
class tenant_source {
 public:
  virtual ~tenant_source() = default;
  virtual tenant_entry lookup(const std::string& tenant_id) = 0;
  tenant_actor get(const std::string& tenant_id) { return lookup(tenant_id).actor; }
};

/// Finds or spawns the tenant actor of a tenant; safe from any thread.
class tenant_directory final : public tenant_source {
 public:
  tenant_directory(caf::actor_system& sys, storage::database& db, std::shared_ptr<vault_ref> vault);
  ~tenant_directory() override;

  using entry = tenant_entry;
  entry lookup(const std::string& tenant_id) override;
  /// The actor if it is already running (a change notice for an unloaded tenant needs nothing).
  std::optional<tenant_actor> find(const std::string& tenant_id);
  /// Every running actor (reload after a missed notification window).
  std::vector<tenant_actor> all();
  void stop_all();

 private:
  caf::actor_system& sys_;
  storage::database& db_;
  std::shared_ptr<vault_ref> vault_;
  std::mutex mutex_;
  std::unordered_map<std::string, entry> actors_;
};

}  // namespace nyxgate::actors
