#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "security/key_vault.hpp"

using namespace nyxgate::security;

namespace {
std::string temp_path(const std::string& name) {
  char tmpl[] = "/tmp/nyxgate-vault-XXXXXX";
  BOOST_REQUIRE(::mkdtemp(tmpl) != nullptr);
  return std::string{tmpl} + "/" + name;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(key_vault_test)

BOOST_AUTO_TEST_CASE(seal_then_open_round_trips) {
  key_vault v;
  v.add_fresh_key();
  auto s = v.seal("sk-live-1234567890abcd", "tenant-a:key-1");
  BOOST_TEST(s.nonce.size() == 12u);
  BOOST_TEST(s.ciphertext.size() == 22u + 16u);
  BOOST_TEST(s.ciphertext.find("sk-live") == std::string::npos);
  auto opened = v.open(s, "tenant-a:key-1");
  BOOST_REQUIRE(std::holds_alternative<std::string>(opened));
  BOOST_TEST(std::get<std::string>(opened) == "sk-live-1234567890abcd");
}

BOOST_AUTO_TEST_CASE(every_tampered_byte_fails_loudly) {
  key_vault v;
  v.add_fresh_key();
  auto s = v.seal("secret-value", "t:k");
  for (std::size_t i = 0; i < s.ciphertext.size(); ++i) {
    auto bad = s;
    bad.ciphertext[i] ^= 0x01;
    auto r = v.open(bad, "t:k");
    BOOST_TEST(
        (std::holds_alternative<vault_errc>(r) && std::get<vault_errc>(r) == vault_errc::tampered));
  }
  auto bad_nonce = s;
  bad_nonce.nonce[0] ^= 0x01;
  BOOST_TEST(std::holds_alternative<vault_errc>(v.open(bad_nonce, "t:k")));
  // A ciphertext moved to another row (other associated data) does not open.
  BOOST_TEST(std::holds_alternative<vault_errc>(v.open(s, "t:other")));
}

BOOST_AUTO_TEST_CASE(rotation_keeps_old_versions_readable_until_retired) {
  key_vault v;
  v.add_fresh_key();
  auto old = v.seal("a", "x");
  BOOST_TEST(v.add_fresh_key() == 2);
  auto fresh = v.seal("b", "x");
  BOOST_TEST(old.key_version == 1);
  BOOST_TEST(fresh.key_version == 2);
  BOOST_TEST(std::get<std::string>(v.open(old, "x")) == "a");
  v.retire_before(2);
  BOOST_TEST(std::get<vault_errc>(v.open(old, "x")) == vault_errc::unknown_key_version);
  BOOST_TEST(std::get<std::string>(v.open(fresh, "x")) == "b");
}

BOOST_AUTO_TEST_CASE(key_file_is_created_0600_and_reloaded) {
  auto path = temp_path("master.key");
  auto created = key_vault::load_or_create(path);
  struct stat st {};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  auto s = created.seal("k", "a");
  auto loaded = key_vault::load(path);
  BOOST_TEST(std::get<std::string>(loaded.open(s, "a")) == "k");
}

BOOST_AUTO_TEST_CASE(readable_key_file_is_refused_with_the_fix) {
  auto path = temp_path("master.key");
  key_vault::load_or_create(path);
  ::chmod(path.c_str(), 0644);
  try {
    key_vault::load(path);
    BOOST_FAIL("a world-readable key file was accepted");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string{e.what()}.find("chmod 600") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(malformed_key_file_names_the_line) {
  auto path = temp_path("master.key");
  {
    std::ofstream out(path);
    out << "# comment\n1 nothex\n";
  }
  ::chmod(path.c_str(), 0600);
  try {
    key_vault::load(path);
    BOOST_FAIL("malformed file accepted");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string{e.what()}.find("line 2") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(hex_and_hint) {
  BOOST_TEST(to_hex("\x01\xab") == "01ab");
  BOOST_TEST(*from_hex("01AB") == "\x01\xab");
  BOOST_TEST(!from_hex("0g").has_value());
  BOOST_TEST(secret_hint("sk-abcdef1234") == "1234");
  BOOST_TEST(secret_hint("abc") == "");  // too short to show anything
}

BOOST_AUTO_TEST_SUITE_END()
