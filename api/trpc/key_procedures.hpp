#pragma once

#include <memory>

#include "api/trpc/router.hpp"

namespace nyxgate::storage {
class database;
}
namespace nyxgate::actors {
class tenant_directory;
struct vault_ref;
}  // namespace nyxgate::actors

namespace nyxgate::api {

/// apiKeys.list|create|delete|replace, llmDefaults.get|update, providers.resolve.
/// Every write updates the tenant actor before it returns and notifies other nodes.
void add_key_procedures(trpc_router& router, storage::database& db,
                        actors::tenant_directory& tenants,
                        std::shared_ptr<actors::vault_ref> vault);

}  // namespace nyxgate::api
