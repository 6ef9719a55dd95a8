#pragma once

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"

namespace nyxgate::actors {

/// Owns one database connection and runs one batch at a time, in arrival order.
using storage_actor =
    caf::typed_actor<caf::replies_to<storage::db_batch>::with<storage::db_reply>,
                     caf::reacts_to<storage::db_batch, db_sink>,
                     caf::reacts_to<completed_atom, std::uint64_t, storage::db_reply>,
                     caf::reacts_to<link_up_atom, bool>>;

}  // namespace nyxgate::actors

namespace nyxgate::actors {

/// One per tenant: owns its decrypted key set and LLM defaults, answers resolutions from
/// memory, and reloads from the database when told that something changed.
using tenant_actor =
    caf::typed_actor<caf::reacts_to<resolve_atom, resolve_query, resolve_sink>,
                     caf::replies_to<resolve_atom, resolve_query>::with<resolve_answer>,
                     caf::reacts_to<reload_atom, done_sink>,
                     caf::reacts_to<loaded_atom, std::uint64_t, tenant_snapshot_ptr, std::string>>;

/// The baseline for benchmarks: an actor that answers at once, through the same sink path.
using echo_actor = caf::typed_actor<caf::reacts_to<ping_atom, resolve_query, resolve_sink>>;

}  // namespace nyxgate::actors
