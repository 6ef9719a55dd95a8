#include "app/init.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "identity/token.hpp"
#include "storage/identity_repository.hpp"

namespace nyxgate::app {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// Writes the token before the database commit, so a token that reached the database always
/// reached its owner too.
std::optional<std::string> write_token_file(const std::string& path, const std::string& token) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return "cannot write --token-file " + path + ": " + std::strerror(errno);
  bool ok = ::fchmod(fd, 0600) == 0;
  std::string line = token + "\n";
  ok = ok && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(path.c_str());
    return "cannot write --token-file " + path + ": " + std::strerror(errno);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> validate(const init_request& req) {
  const auto& slug = req.tenant_slug;
  auto slug_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  };
  if (slug.empty() || slug.size() > 63 || slug[0] == '-' ||
      !std::all_of(slug.begin(), slug.end(), slug_char))
    return "--tenant-slug: 1 to 63 characters of a-z, 0-9 and '-', starting with a letter or digit";
  if (req.tenant_name.empty() || req.tenant_name.size() > 200)
    return "--tenant-name: 1 to 200 characters";
  const auto& e = req.admin_email;
  auto at = e.find('@');
  if (e.size() > 254 || at == std::string::npos || at == 0 || at + 1 == e.size() ||
      e.find('@', at + 1) != std::string::npos ||
      std::any_of(e.begin(), e.end(), [](unsigned char c) { return c <= ' '; }))
    return "--admin-email: not an email address";
  if (req.admin_name && req.admin_name->size() > 200) return "--admin-name: at most 200 characters";
  if (req.token_file && req.token_file->empty()) return "--token-file: empty path";
  return std::nullopt;
}

init_result run_init(storage::database& db, const init_request& raw) {
  namespace repo = storage::identity_repository;
  init_request req = raw;
  req.admin_email = lower(req.admin_email);
  auto fail = [](std::string why) { return init_result{init_outcome::failed, std::move(why), {}}; };

  auto existing =
      db.execute_blocking(storage::single(repo::tenant_for_init(req.tenant_slug, req.admin_email)));
  if (!existing.ok()) return fail("database error: " + existing.message);
  if (auto found = repo::init_row_of(existing.results.front())) {
    if (found->tenant_name != req.tenant_name)
      return {init_outcome::conflict,
              "tenant '" + req.tenant_slug + "' already exists with the name '" +
                  found->tenant_name + "'; nothing changed",
              {}};
    if (found->role != "owner")
      return {init_outcome::conflict,
              "tenant '" + req.tenant_slug + "' already exists and " + req.admin_email +
                  " is not its owner; nothing changed",
              {}};
    if (req.admin_name && found->user_name && *found->user_name != *req.admin_name)
      return {init_outcome::conflict,
              "user " + req.admin_email + " already exists with another name; nothing changed",
              {}};
    return {init_outcome::unchanged,
            "already initialized: tenant '" + req.tenant_slug + "' with owner " + req.admin_email +
                "; nothing changed",
            {}};
  }

  auto token = identity::generate_token();
  if (req.token_file)
    if (auto err = write_token_file(*req.token_file, token)) return fail(*err);

  auto reply = db.execute_blocking(
      repo::create_tenant_with_owner(req.tenant_slug, req.tenant_name, req.admin_email,
                                     req.admin_name.value_or(""), identity::sha256_hex(token)));
  if (!reply.ok()) {
    if (req.token_file) ::unlink(req.token_file->c_str());
    if (reply.error == storage::db_errc::unique_violation)
      return {init_outcome::conflict,
              "tenant '" + req.tenant_slug + "' was created concurrently; run init again",
              {}};
    return fail("database error: " + std::string{storage::to_string(reply.error)});
  }
  init_result out{init_outcome::created,
                  "created tenant '" + req.tenant_slug + "' with owner " + req.admin_email,
                  {}};
  if (!req.token_file) out.token = std::move(token);
  return out;
}

}  // namespace nyxgate::app
