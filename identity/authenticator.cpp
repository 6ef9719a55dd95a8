#include "identity/authenticator.hpp"

#include <deque>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "identity/token.hpp"
#include "storage/async.hpp"
#include "storage/identity_repository.hpp"
#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"

namespace nyxgate::identity {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

struct authenticator::impl : std::enable_shared_from_this<impl> {
  storage::database& db;
  asio::steady_timer timer;
  options opts;

  std::mutex mutex;  ///< guards the caches, generation and last_used; held for map operations
  struct cached {
    principal who;
    clock::time_point expires;
  };
  std::unordered_map<std::string, cached> cache;  ///< by token hash
  /// Hashes the database did not know, oldest first (one TTL for all: insertion order is
  /// expiry order), with the set for lookups. Bounded: the oldest entry goes first.
  std::deque<std::pair<std::string, clock::time_point>> unknown_order;
  std::unordered_set<std::string> unknown;
  /// Bumped by every invalidation: a lookup that read the database before it does not cache
  /// what it read (the change may have committed after the read).
  std::uint64_t generation = 0;
  /// token id -> (tenant id, seconds since epoch of last use)
  std::unordered_map<std::string, std::pair<std::string, std::int64_t>> last_used;
  bool stopped = false;

  impl(storage::database& d, asio::io_context& io, options o) : db(d), timer(io), opts(o) {}

  void note_use(const principal& p) {
    std::lock_guard lock(mutex);
    note_use_locked(p);
  }

  void note_use_locked(const principal& p) {
    // Once per request: the tenant id is copied only into a new entry.
    auto [it, fresh] = last_used.try_emplace(p.token_id);
    if (fresh) it->second.first = p.tenant_id;
    it->second.second = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  }

  /// The answer when no database query is needed (no or malformed token, or a cached one);
  /// otherwise nothing, with the token's hash left in `hash` for the query.
  std::optional<auth_result> lookup(std::string_view authorization, std::string& hash) {
    if (authorization.empty()) return auth_result{auth_status::missing, {}};
    auto token = parse_bearer(authorization);
    if (!token || !looks_like_token(*token)) {
      telemetry::metrics().auth_failures.inc();
      return auth_result{auth_status::invalid, {}};
    }
    hash = sha256_hex(*token);
    return lookup_hash(hash);
  }

  std::optional<auth_result> lookup_hash(const std::string& hash) {
    auto now = clock::now();
    std::lock_guard lock(mutex);
    auto it = cache.find(hash);
    if (it != cache.end() && it->second.expires > now) {
      telemetry::metrics().token_cache_hits.inc();
      note_use_locked(it->second.who);
      return auth_result{auth_status::ok, it->second.who};
    }
    if (unknown.empty()) return std::nullopt;
    forget_unknown_locked(now);
    if (!unknown.contains(hash)) return std::nullopt;
    telemetry::metrics().auth_failures.inc();
    return auth_result{auth_status::invalid, {}};
  }

  /// Drops expired entries, and the oldest ones beyond the bound.
  void forget_unknown_locked(clock::time_point now) {
    while (!unknown_order.empty() && (unknown_order.front().second <= now ||
                                      unknown_order.size() > opts.max_negative_entries)) {
      unknown.erase(unknown_order.front().first);
      unknown_order.pop_front();
    }
  }

  void remember_unknown(const std::string& hash) {
    if (opts.max_negative_entries == 0 || opts.negative_ttl.count() <= 0) return;
    auto now = clock::now();
    std::lock_guard lock(mutex);
    if (!unknown.insert(hash).second) return;
    unknown_order.emplace_back(hash, now + opts.negative_ttl);
    forget_unknown_locked(now);
  }

  asio::awaitable<auth_result> query(std::string hash) {
    auto& metrics = telemetry::metrics();
    auto now = clock::now();
    std::uint64_t seen;
    {
      std::lock_guard lock(mutex);
      seen = generation;
    }
    metrics.token_cache_misses.inc();
    auto self = shared_from_this();
    auto reply = co_await storage::async_execute(
        db, storage::single(storage::identity_repository::token_principal(hash)));
    if (!reply.ok()) {
      if (auto known = stale(hash)) co_return auth_result{auth_status::ok, std::move(*known)};
      co_return auth_result{auth_status::unavailable, {}};
    }
    auto row = storage::identity_repository::token_principal_of(reply.results.front());
    // The index found the row by hash; the constant-time check keeps the final decision free
    // of timing that depends on how much of a guess matched.
    if (!row || !constant_time_equal(row->token_hash, hash)) {
      metrics.auth_failures.inc();
      {
        std::lock_guard lock(mutex);
        cache.erase(hash);  // a revoked token never serves as a stale entry
      }
      remember_unknown(hash);
      co_return auth_result{auth_status::invalid, {}};
    }
    principal who{std::move(row->tenant_id), std::move(row->user_id), std::move(row->token_id),
                  std::move(row->role)};
    {
      std::lock_guard lock(mutex);
      if (generation == seen) {
        if (cache.size() >= opts.max_cache_entries) cache.clear();
        cache[hash] = {who, now + opts.cache_ttl};
      }
      note_use_locked(who);
    }
    co_return auth_result{auth_status::ok, std::move(who)};
  }

  /// An expired principal, for when the database cannot be asked.
  std::optional<principal> stale(const std::string& hash) {
    std::lock_guard lock(mutex);
    auto it = cache.find(hash);
    if (it == cache.end() || it->second.expires + opts.stale_ttl <= clock::now())
      return std::nullopt;
    note_use_locked(it->second.who);
    return it->second.who;
  }

  std::optional<storage::db_batch> take_flush_batch() {
    std::unordered_map<std::string, std::pair<std::string, std::int64_t>> pending;
    {
      std::lock_guard lock(mutex);
      pending.swap(last_used);
    }
    if (pending.empty()) return std::nullopt;
    std::vector<storage::identity_repository::token_use> uses;
    uses.reserve(pending.size());
    for (const auto& [id, v] : pending) uses.push_back({id, v.first, v.second});
    return storage::single(storage::identity_repository::touch_tokens(uses));
  }

  void schedule() {
    timer.expires_after(opts.flush_interval);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped) return;
      if (auto batch = self->take_flush_batch()) {
        self->db.execute(std::move(*batch), [](storage::db_reply r) {
          if (!r.ok())
            telemetry::log_warn("last_used_at flush failed",
                                {{"error", storage::to_string(r.error)}});
        });
      }
      self->schedule();
    });
  }
};

authenticator::authenticator(storage::database& db, asio::io_context& io, options opts)
    : impl_(std::make_shared<impl>(db, io, opts)) {}

authenticator::~authenticator() {
  stop();
}

void authenticator::start() {
  impl_->schedule();
}

void authenticator::stop() {
  impl_->stopped = true;
  impl_->timer.cancel();
}

void authenticator::flush_blocking() {
  if (auto batch = impl_->take_flush_batch()) impl_->db.execute_blocking(std::move(*batch));
}

void authenticator::invalidate_tenant(std::string_view tenant_id) {
  std::lock_guard lock(impl_->mutex);
  ++impl_->generation;
  std::erase_if(impl_->cache, [&](const auto& kv) { return kv.second.who.tenant_id == tenant_id; });
}

void authenticator::invalidate_all() {
  std::lock_guard lock(impl_->mutex);
  ++impl_->generation;
  // Every entry is asked again at its next use; until the database answers, it may still serve
  // as a stale one (a revocation notice was missed, not received).
  auto now = clock::now();
  for (auto& [hash, entry] : impl_->cache) entry.expires = std::min(entry.expires, now);
}

std::optional<auth_result> authenticator::authenticate_cached(std::string_view authorization) {
  std::string hash;
  return impl_->lookup(authorization, hash);
}

asio::awaitable<auth_result> authenticator::authenticate(std::string_view authorization) {
  std::string hash;
  if (auto known = impl_->lookup(authorization, hash)) co_return std::move(*known);
  co_return co_await impl_->query(std::move(hash));
}

std::optional<token_digest> authenticator::digest(std::string_view authorization) {
  auto token = parse_bearer(authorization);
  if (!token || !looks_like_token(*token)) return std::nullopt;
  return token_digest{sha256_hex(*token)};
}

std::optional<auth_result> authenticator::authenticate_cached(const token_digest& token) {
  return impl_->lookup_hash(token.sha256_hex);
}

asio::awaitable<auth_result> authenticator::authenticate(token_digest token) {
  if (auto known = impl_->lookup_hash(token.sha256_hex)) co_return std::move(*known);
  co_return co_await impl_->query(std::move(token.sha256_hex));
}

}  // namespace nyxgate::identity
