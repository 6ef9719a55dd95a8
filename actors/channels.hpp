#pragma once

namespace nyxgate::actors {

/// The NOTIFY channel that tells other nodes a tenant's keys or defaults changed.
inline constexpr const char* tenant_change_channel = "nyxgate_tenant_changed";

}  // namespace nyxgate::actors
