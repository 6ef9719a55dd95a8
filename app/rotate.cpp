#include "app/rotate.hpp"

#include <set>
#include <thread>

#include "api/trpc/key_procedures.hpp"
#include "security/key_vault.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::app {

namespace {

bool notify(storage::database& db, const char* channel, const std::string& payload) {
  storage::statement st{"SELECT pg_notify($1, $2)"};
  st.bind(channel).bind(payload);
  return db.execute_blocking(storage::single(std::move(st))).ok();
}

}  // namespace

rotation_result rotate_master_key(storage::database& db, const std::string& key_file) {
  rotation_result out;
  auto vault = security::key_vault::load(key_file);
  out.new_version = vault.add_fresh_key();
  vault.save(key_file);
  notify(db, master_key_channel, std::to_string(out.new_version));
  // Servers reload the file within milliseconds of the notice; the pause keeps a server that
  // is slow to hear it from sealing under the old version after the last pass below.
  std::this_thread::sleep_for(std::chrono::seconds(2));

  std::set<std::string> tenants;
  for (;;) {
    storage::statement pick{
        "SELECT tenant_id, id, encode(secret_ciphertext, 'hex'), encode(secret_nonce, 'hex'), "
        "key_version FROM api_keys WHERE key_version < $1 ORDER BY tenant_id, id LIMIT 200"};
    pick.bind(std::int64_t{out.new_version});
    auto rows = db.execute_blocking(storage::single(std::move(pick)));
    if (!rows.ok()) {
      out.message = "reading keys failed: " + std::string{storage::to_string(rows.error)};
      return out;
    }
    const auto& r = rows.results.front();
    if (r.empty()) break;
    storage::db_batch b;
    b.transaction = true;
    for (std::size_t i = 0; i < r.rows(); ++i) {
      const auto& tenant = r.at(i, 0);
      const auto& id = r.at(i, 1);
      security::sealed_secret old{security::from_hex(r.at(i, 2)).value_or(""),
                                  security::from_hex(r.at(i, 3)).value_or(""),
                                  std::atoi(r.at(i, 4).c_str())};
      auto plain = vault.open(old, tenant + ":" + id);
      if (auto* err = std::get_if<security::vault_errc>(&plain)) {
        out.message = "key " + id + " of tenant " + tenant +
                      " does not decrypt: " + std::string{security::to_string(*err)} +
                      "; rotation stopped, nothing retired";
        return out;
      }
      auto sealed = vault.seal(std::get<std::string>(plain), tenant + ":" + id);
      // Only if nobody replaced the secret meanwhile; a replaced row already has the new version.
      storage::statement up{
          "UPDATE api_keys SET secret_ciphertext = decode($3, 'hex'), secret_nonce = decode($4, "
          "'hex'), key_version = $5 WHERE tenant_id = $1 AND id = $2 AND key_version = $6"};
      up.bind(tenant).bind(id).bind(security::to_hex(sealed.ciphertext));
      up.bind(security::to_hex(sealed.nonce)).bind(std::int64_t{sealed.key_version});
      up.bind(std::int64_t{old.key_version});
      b.statements.push_back(std::move(up));
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
  notify(db, master_key_channel, std::to_string(out.new_version));
  for (const auto& t : tenants) notify(db, actors::tenant_change_channel, t);
  out.ok = true;
  out.message = "master key rotated to version " + std::to_string(out.new_version) + "; " +
                std::to_string(out.resealed) + " keys re-sealed";
  return out;
}

}  // namespace nyxgate::app
