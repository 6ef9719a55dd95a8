#include "security/key_vault.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <ostream>
#include <sstream>
#include <stdexcept>

namespace nyxgate::security {

namespace {

constexpr std::size_t key_bytes = 32;
constexpr std::size_t nonce_bytes = 12;
constexpr std::size_t tag_bytes = 16;

using ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string_view to_string(vault_errc e) {
  switch (e) {
    case vault_errc::unknown_key_version:
      return "unknown master key version";
    case vault_errc::tampered:
      return "ciphertext failed authentication (tampered or wrong key)";
    case vault_errc::crypto_failure:
      return "crypto failure";
  }
  return "crypto failure";
}

std::ostream& operator<<(std::ostream& os, vault_errc e) {
  return os << to_string(e);
}

std::string to_hex(std::string_view raw) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::string secret_hint(std::string_view secret) {
  return std::string{secret.size() <= 4 ? secret.substr(0, 0) : secret.substr(secret.size() - 4)};
}

key_vault::key_vault(std::map<int, std::string> keys) : keys_(std::move(keys)) {
  for (const auto& [v, k] : keys_)
    if (k.size() != key_bytes || v <= 0)
      throw std::runtime_error("master key version " + std::to_string(v) + " is malformed");
}

int key_vault::current_version() const {
  return keys_.empty() ? 0 : keys_.rbegin()->first;
}

int key_vault::add_fresh_key() {
  int v = current_version() + 1;
  keys_[v] = random_bytes(key_bytes);
  return v;
}

void key_vault::retire_before(int keep_from) {
  std::erase_if(keys_, [&](const auto& kv) { return kv.first < keep_from; });
}

key_vault key_vault::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw std::runtime_error("master key file " + path + ": " + std::strerror(errno));
  if (st.st_mode & 077)
    throw std::runtime_error("master key file " + path +
                             " is readable by group or others; run: chmod 600 " + path);
  std::ifstream in(path);
  if (!in) throw std::runtime_error("master key file " + path + ": cannot open");
  std::map<int, std::string> keys;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    int version = 0;
    std::string hex;
    fields >> version >> hex;
    auto raw = from_hex(hex);
    if (version <= 0 || !raw || raw->size() != key_bytes)
      throw std::runtime_error("master key file " + path + ": line " + std::to_string(line_no) +
                               " is not `<version> <64 hex characters>`");
    keys[version] = std::move(*raw);
  }
  if (keys.empty()) throw std::runtime_error("master key file " + path + " holds no key");
  return key_vault(std::move(keys));
}

key_vault key_vault::load_or_create(const std::string& path) {
  if (::access(path.c_str(), F_OK) == 0) return load(path);
  key_vault v;
  v.add_fresh_key();
  v.save(path);
  return v;
}

void key_vault::save(const std::string& path) const {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
  std::string text =
      "# nyxgate master keys: <version> <hex>. Keep secret; back up with the database.\n";
  for (const auto& [v, k] : keys_) text += std::to_string(v) + " " + to_hex(k) + "\n";
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  OPENSSL_cleanse(text.data(), text.size());
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write master key file " + path + ": " + std::strerror(errno));
  }
}

sealed_secret key_vault::seal(std::string_view plaintext, std::string_view associated) const {
  if (keys_.empty()) throw std::runtime_error("no master key loaded");
  sealed_secret out;
  out.key_version = current_version();
  out.nonce = random_bytes(nonce_bytes);
  const auto& key = keys_.rbegin()->second;
  ctx_ptr ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  out.ciphertext.resize(plaintext.size() + tag_bytes);
  int len = 0, fin = 0;
  auto* dst = reinterpret_cast<unsigned char*>(out.ciphertext.data());
  bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, nonce_bytes, nullptr) == 1 &&
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key), bytes(out.nonce)) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(associated),
                        static_cast<int>(associated.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), dst, &len, bytes(plaintext),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), dst + len, &fin) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_bytes, dst + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM encryption failed");
  return out;
}

std::variant<std::string, vault_errc> key_vault::open(const sealed_secret& s,
                                                      std::string_view associated) const {
  auto it = keys_.find(s.key_version);
  if (it == keys_.end()) return vault_errc::unknown_key_version;
  if (s.nonce.size() != nonce_bytes || s.ciphertext.size() < tag_bytes) return vault_errc::tampered;
  std::size_t n = s.ciphertext.size() - tag_bytes;
  std::string plain(n, '\0');
  ctx_ptr ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0, fin = 0;
  auto* dst = reinterpret_cast<unsigned char*>(plain.data());
  std::string tag = s.ciphertext.substr(n);
  bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, nonce_bytes, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytes(it->second), bytes(s.nonce)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(associated),
                        static_cast<int>(associated.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), dst, &len, bytes(s.ciphertext), static_cast<int>(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_bytes, tag.data()) == 1;
  if (!ok) return vault_errc::crypto_failure;
  // The tag check happens here: a modified byte anywhere fails, never yields garbage.
  if (EVP_DecryptFinal_ex(ctx.get(), dst + len, &fin) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return vault_errc::tampered;
  }
  return plain;
}

}  // namespace nyxgate::security
