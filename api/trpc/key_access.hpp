#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <boost/asio/awaitable.hpp>

#include "api/trpc/router.hpp"
#include "providers/key_status.hpp"

namespace nyxgate::storage {
class database;
}
namespace nyxgate::actors {
class tenant_directory;
struct vault_ref;
}  // namespace nyxgate::actors
namespace nyxgate::net {
class https_client;
struct outbound_response;
}  // namespace nyxgate::net

/// Opening stored keys for the procedures that call a provider with them (apiKeys.test,
/// github.viewer, projects.healthCheck, projects.importGitHubCommits), and recording what the
/// provider said about a key. The secrets stay in these values: never log or return them.
namespace nyxgate::api {

struct key_access {
  storage::database& db;
  actors::tenant_directory& tenants;
  std::shared_ptr<actors::vault_ref> vault;
};

/// What a procedure that calls GitHub with the caller's token needs.
struct github_access {
  key_access keys;
  std::shared_ptr<net::https_client> client;
  std::string base_url;  ///< providers.github.base_url: the only place the token goes
};

struct opened_key {
  std::string provider;
  bool personal = false;
  std::string secret;
};

/// One key the caller may see (a tenant key or their own personal key), opened; NOT_FOUND
/// `input.id: no such key` for anything else.
boost::asio::awaitable<std::variant<opened_key, trpc_error>> open_visible_key(
    const key_access& keys, const procedure_context& ctx, const std::string& id);

struct github_token {
  std::string key_id;
  std::string scope;  ///< personal | tenant
  std::string hint;   ///< the last characters of the key, as apiKeys.list shows them
  std::string secret;
};

/// resolveGitHubToken (SPEC §3): the caller's usable personal github key, else the tenant's,
/// opened. PRECONDITION_FAILED `no_github_token: …` when there is none.
boost::asio::awaitable<std::variant<github_token, trpc_error>> open_github_token(
    const key_access& keys, const procedure_context& ctx);

/// Persists a key's health with a change notice in one transaction, then has the tenant actor
/// reload before the caller answers; the error to answer with, if any.
boost::asio::awaitable<std::optional<trpc_error>> save_key_status(
    const key_access& keys, const std::string& tenant_id, const std::string& key_id,
    providers::key_status status, const std::string& reason, std::int64_t cooldown_s);

/// A GET on GitHub's API with the token, bounded in time and size.
boost::asio::awaitable<net::outbound_response> github_fetch(net::https_client& client,
                                                            std::string url,
                                                            const std::string& token);

}  // namespace nyxgate::api
