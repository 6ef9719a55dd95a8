#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <boost/json/value.hpp>

#include "api/trpc/router.hpp"
#include "identity/authenticator.hpp"
#include "storage/database.hpp"

namespace nyxgate::api {

/// tenants.current, members.*, tokens.*, invites.redeem: the identity part of the control
/// plane. Invite codes stay valid for `invite_ttl_s` seconds.
void add_identity_procedures(trpc_router& router, storage::database& db,
                             identity::authenticator& auth, std::int64_t invite_ttl_s);

/// One place that turns a storage failure into a tRPC error a client can act on; the
/// server's message stays in the log because it may quote values.
trpc_error storage_failure(const storage::db_reply& reply, std::string_view what);

/// A nullable column in a reply: its text, or null.
boost::json::value json_or_null(const std::optional<std::string>& v);

}  // namespace nyxgate::api
