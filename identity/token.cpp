#include "identity/token.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <stdexcept>

// SHA256_Init/Update/Final: see sha256_hex.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace nyxgate::identity {

namespace {

constexpr std::string_view token_prefix = "ngt_";
constexpr std::size_t token_bytes = 32;
constexpr std::size_t token_chars = (token_bytes * 4 + 2) / 3;  // 43: base64 without padding
constexpr std::string_view b64url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view hex_digits = "0123456789abcdef";

template <std::size_t N>
std::array<unsigned char, N> random_bytes() {
  std::array<unsigned char, N> out{};
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    throw std::runtime_error("RAND_bytes failed: no secure random source");
  return out;
}

/// Each byte's position in the base64url alphabet, or -1 (`find` per character cost a
/// `memchr` call each, on every authenticated request).
constexpr std::array<signed char, 256> b64url_table = [] {
  std::array<signed char, 256> t{};
  t.fill(-1);
  for (std::size_t i = 0; i < b64url.size(); ++i)
    t[static_cast<unsigned char>(b64url[i])] = static_cast<signed char>(i);
  return t;
}();

int b64url_index(char c) {
  return b64url_table[static_cast<unsigned char>(c)];
}

void append_hex(std::string& out, const unsigned char* data, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(hex_digits[data[i] >> 4]);
    out.push_back(hex_digits[data[i] & 0x0f]);
  }
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string random_secret(std::string_view prefix) {
  auto bytes = random_bytes<token_bytes>();
  std::string out(prefix);
  out.reserve(prefix.size() + token_chars);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out.push_back(b64url[(n >> 18) & 63]);
    out.push_back(b64url[(n >> 12) & 63]);
    out.push_back(b64url[(n >> 6) & 63]);
    out.push_back(b64url[n & 63]);
  }
  // 32 = 30 + 2: the last two bytes make three characters.
  std::uint32_t n = (bytes[i] << 16) | (bytes[i + 1] << 8);
  out.push_back(b64url[(n >> 18) & 63]);
  out.push_back(b64url[(n >> 12) & 63]);
  out.push_back(b64url[(n >> 6) & 63]);
  return out;
}

}  // namespace

std::string generate_token() {
  return random_secret(token_prefix);
}

std::string generate_invite_code() {
  return random_secret("ngi_");
}

bool looks_like_token(std::string_view s) {
  if (s.size() != token_prefix.size() + token_chars || !s.starts_with(token_prefix)) return false;
  s.remove_prefix(token_prefix.size());
  for (char c : s)
    if (b64url_index(c) < 0) return false;
  // The last character carries 4 data bits; its 2 low bits are always zero.
  return (b64url_index(s.back()) & 3) == 0;
}

std::string sha256_hex(std::string_view data) {
  // OpenSSL's SHA-256 block function directly: a token is hashed on every authenticated
  // request, and the EVP interface (provider dispatch, parameter lookups) costs more than the
  // hash itself. SHA256_Init/Update/Final are marked deprecated in OpenSSL 3 (in favour of
  // EVP) but remain part of its API; one-shot SHA256() goes through EVP_Q_digest.
  SHA256_CTX ctx;
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, data.data(), data.size()) != 1 ||
      SHA256_Final(digest.data(), &ctx) != 1)
    throw std::runtime_error("SHA-256 failed");
  OPENSSL_cleanse(&ctx, sizeof ctx);
  std::string out;
  out.reserve(2 * digest.size());
  append_hex(out, digest.data(), digest.size());
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string_view> parse_bearer(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer";
  while (!authorization.empty() && is_space(authorization.front())) authorization.remove_prefix(1);
  while (!authorization.empty() && is_space(authorization.back())) authorization.remove_suffix(1);
  if (authorization.size() <= scheme.size() ||
      !iequals(authorization.substr(0, scheme.size()), scheme) ||
      !is_space(authorization[scheme.size()]))
    return std::nullopt;
  auto token = authorization.substr(scheme.size());
  while (!token.empty() && is_space(token.front())) token.remove_prefix(1);
  if (token.empty()) return std::nullopt;
  for (char c : token) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return std::nullopt;  // one token68, nothing after it
  }
  return token;
}

std::string new_request_id() {
  thread_local std::mt19937_64 gen = [] {
    auto seed = random_bytes<32>();
    std::array<std::uint32_t, 8> words{};
    for (std::size_t i = 0; i < words.size(); ++i)
      words[i] = (std::uint32_t{seed[4 * i]} << 24) | (std::uint32_t{seed[4 * i + 1]} << 16) |
                 (std::uint32_t{seed[4 * i + 2]} << 8) | std::uint32_t{seed[4 * i + 3]};
    std::seed_seq seq(words.begin(), words.end());
    return std::mt19937_64(seq);
  }();
  std::array<unsigned char, 16> bytes{};
  for (std::size_t half = 0; half < 2; ++half) {
    std::uint64_t n = gen();
    for (std::size_t i = 0; i < 8; ++i)
      bytes[8 * half + i] = static_cast<unsigned char>(n >> (8 * i));
  }
  std::string out;
  out.reserve(32);
  append_hex(out, bytes.data(), bytes.size());
  return out;
}

std::string new_uuid() {
  auto b = random_bytes<16>();
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    append_hex(out, &b[i], 1);
  }
  return out;
}

}  // namespace nyxgate::identity
