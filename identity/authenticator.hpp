#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "storage/database.hpp"

namespace boost::asio {
class io_context;
}

namespace nyxgate::identity {

/// Who is calling: fixed by the bearer token, never by the request's input.
struct principal {
  std::string tenant_id;
  std::string user_id;
  std::string token_id;
  std::string role;  ///< owner | admin | member

  bool is_admin() const { return role == "owner" || role == "admin"; }
  bool is_owner() const { return role == "owner"; }
};

enum class auth_status { ok, missing, invalid, unavailable };

/// A bearer token known by its SHA-256 only: what a WebSocket keeps to re-check its caller.
struct token_digest {
  std::string sha256_hex;
};

struct auth_result {
  auth_status status = auth_status::invalid;
  principal who;
};

/// Resolves bearer tokens to principals. Tokens are looked up by SHA-256 only; a small
/// in-memory cache keeps the database off the request path, and `last_used_at` is written
/// in batches by a timer instead of once per request. Tokens the database does not know are
/// remembered for a short time too, so a client repeating a bad token costs no query each.
class authenticator {
 public:
  struct options {
    /// A backstop only: changes reach the cache through `invalidate_tenant`, on every node
    /// (storage::principal_change_channel).
    std::chrono::milliseconds cache_ttl{10000};
    /// While the database cannot be asked, an expired entry still answers for this long (a
    /// revocation needs the database too), so calls keep being served from memory.
    std::chrono::milliseconds stale_ttl{std::chrono::minutes(10)};
    std::chrono::milliseconds flush_interval{5000};
    std::size_t max_cache_entries = 100000;
    std::chrono::milliseconds negative_ttl{5000};
    std::size_t max_negative_entries = 10000;
  };

  authenticator(storage::database& db, boost::asio::io_context& io, options opts);
  ~authenticator();

  /// `authorization` is the raw header value.
  boost::asio::awaitable<auth_result> authenticate(std::string_view authorization);
  /// The answer when it needs no database query (no or malformed token, or a cached one);
  /// nothing when only `authenticate` can tell. Lets the hot path skip the coroutine.
  std::optional<auth_result> authenticate_cached(std::string_view authorization);

  /// The token of an Authorization header value as a digest; nothing when it holds none.
  static std::optional<token_digest> digest(std::string_view authorization);
  /// `authenticate` and `authenticate_cached` for a token known by its digest.
  boost::asio::awaitable<auth_result> authenticate(token_digest token);
  std::optional<auth_result> authenticate_cached(const token_digest& token);

  /// Drops cached principals of a tenant (role changes, removals, revocations).
  void invalidate_tenant(std::string_view tenant_id);
  /// Makes every cached principal be asked again at its next use (the change notices may have
  /// been missed); until the database answers, an entry may still serve as a stale one.
  void invalidate_all();

  /// Starts the periodic last_used_at flush.
  void start();
  /// Writes pending last_used_at updates now (blocking; used at shutdown and by tests).
  void flush_blocking();
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace nyxgate::identity
