#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace nyxgate::security {

/// A provider secret as stored: AES-256-GCM ciphertext with its 16-byte tag appended, the
/// 12-byte nonce, and the version of the master key that sealed it.
struct sealed_secret {
  std::string ciphertext;  ///< raw bytes (ciphertext || tag)
  std::string nonce;       ///< raw bytes, 12
  int key_version = 0;
};

enum class vault_errc { unknown_key_version, tampered, crypto_failure };
std::string_view to_string(vault_errc e);
std::ostream& operator<<(std::ostream& os, vault_errc e);

/// Master keys by version. Secrets are sealed under the newest version; older versions stay
/// readable until `rotate-master-key` has re-sealed every row. The associated data binds a
/// ciphertext to its row (tenant, key id), so a ciphertext copied to another row fails.
class key_vault {
 public:
  key_vault() = default;
  explicit key_vault(std::map<int, std::string> keys);  ///< version -> 32 raw bytes

  /// Reads a master key file: one `<version> <64 hex chars>` per line ('#' comments allowed).
  /// Refuses a file that is group- or world-accessible. Throws std::runtime_error.
  static key_vault load(const std::string& path);
  /// Loads `path`, or creates it with one fresh key (mode 0600) when it does not exist.
  static key_vault load_or_create(const std::string& path);
  /// Writes the keys to `path` atomically (temp file 0600 + rename).
  void save(const std::string& path) const;

  int current_version() const;
  const std::map<int, std::string>& keys() const { return keys_; }
  /// Adds a fresh random key as version current+1 and returns it.
  int add_fresh_key();
  /// Drops every version older than `keep_from`.
  void retire_before(int keep_from);

  sealed_secret seal(std::string_view plaintext, std::string_view associated) const;
  std::variant<std::string, vault_errc> open(const sealed_secret& s,
                                             std::string_view associated) const;

 private:
  std::map<int, std::string> keys_;
};

/// Lower-case hex of raw bytes and back (bytea columns travel as `\x…` hex text).
std::string to_hex(std::string_view raw);
std::optional<std::string> from_hex(std::string_view hex);
/// The last 4 characters of a secret, shown to users instead of the secret.
std::string secret_hint(std::string_view secret);

}  // namespace nyxgate::security
