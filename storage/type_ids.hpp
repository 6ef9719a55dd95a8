#pragma once

#include <caf/type_id.hpp>

#include "storage/db_types.hpp"

/// The storage module's CAF type IDs: the project's first block. The actors' block in
/// actors/messages.hpp starts where this one ends; a system registers both.
CAF_BEGIN_TYPE_ID_BLOCK(nyxgate_storage, caf::first_custom_type_id)

CAF_ADD_TYPE_ID(nyxgate_storage, (nyxgate::storage::statement))
CAF_ADD_TYPE_ID(nyxgate_storage, (nyxgate::storage::db_batch))
CAF_ADD_TYPE_ID(nyxgate_storage, (nyxgate::storage::db_result))
CAF_ADD_TYPE_ID(nyxgate_storage, (nyxgate::storage::db_reply))

CAF_ADD_ATOM(nyxgate_storage, nyxgate::storage, batch_done_atom, "ng_dbdone")
CAF_ADD_ATOM(nyxgate_storage, nyxgate::storage, link_atom, "ng_dblink")

CAF_END_TYPE_ID_BLOCK(nyxgate_storage)
