#pragma once

#include <atomic>
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

  /// Per provider, newest first: personal keys and tenant keys. Built once per load, so a
  /// resolution is a short scan without allocation.
  struct provider_index {
    std::vector<const providers::key_record*> personal;
    std::vector<const providers::key_record*> tenant;
  };
  std::map<std::string, provider_index, std::less<>> by_provider;

  void build_index();
  /// SPEC §3 keys_for(...).front(), or nullptr.
  const providers::key_record* first_usable(std::string_view provider, const std::string* user,
                                            std::int64_t now_s) const;
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
