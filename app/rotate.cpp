#include "app/rotate.hpp"

#include <set>
#include <thread>

#include "security/key_vault.hpp"
#include "storage/api_keys_repository.hpp"
#include "storage/channels.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::app {

namespace {

namespace keys = storage::api_keys_repository;

bool notify(storage::database& db, std::string_view channel, const std::string& payload) {
  return db.execute_blocking(storage::single(storage::notify(channel, payload))).ok();
}

}  // namespace

rotation_result rotate_master_key(storage::database& db, const std::string& key_file) {
  rotation_result out;
  auto vault = security::key_vault::load(key_file);
  out.new_version = vault.add_fresh_key();
  vault.save(key_file);
  notify(db, storage::master_key_channel, std::to_string(out.new_version));
  // Servers reload the file within milliseconds of the notice; the pause keeps a server that
  // is slow to hear it from sealing under the old version after the last pass below.
  std::this_thread::sleep_for(std::chrono::seconds(2));

  std::set<std::string> tenants;
  for (;;) {
    auto reply = db.execute_blocking(storage::single(keys::sealed_before(out.new_version, 200)));
    if (!reply.ok()) {
      out.message = "reading keys failed: " + std::string{storage::to_string(reply.error)};
      return out;
    }
    auto rows = keys::stale_key_rows(reply.results.front());
    if (rows.empty()) break;
    storage::db_batch b;
    b.transaction = true;
    for (const auto& [tenant, id, old] : rows) {
      auto plain = vault.open(old, tenant + ":" + id);
      if (auto* err = std::get_if<security::vault_errc>(&plain)) {
        out.message = "key " + id + " of tenant " + tenant +
                      " does not decrypt: " + std::string{security::to_string(*err)} +
                      "; rotation stopped, nothing retired";
        return out;
      }
      auto sealed = vault.seal(std::get<std::string>(plain), tenant + ":" + id);
      // Only if nobody replaced the secret meanwhile; a replaced row already has the new version.
      b.statements.push_back(keys::reseal(tenant, id, sealed, old.key_version));
      tenants.insert(tenant);
      ++out.resealed;
    }
    auto written = db.execute_blocking(std::move(b));
    if (!written.ok()) {
      out.message = "re-sealing failed: " + std::string{storage::to_string(written.error)};
      return out;
    }
  }
  vault.retire_before(out.new_version);
  vault.save(key_file);
  notify(db, storage::master_key_channel, std::to_string(out.new_version));
  for (const auto& t : tenants) notify(db, storage::tenant_change_channel, t);
  out.ok = true;
  out.message = "master key rotated to version " + std::to_string(out.new_version) + "; " +
                std::to_string(out.resealed) + " keys re-sealed";
  return out;
}

}  // namespace nyxgate::app
