#pragma once

#include <string>
#include <vector>

namespace nyxgate::app {

/// `nyxgate keys add|list|delete …`: provider keys through a running node's control plane.
int keys_command(const std::vector<std::string>& args);

/// `nyxgate defaults get|set …`: the tenant's primary and fallback provider and models.
int defaults_command(const std::vector<std::string>& args);

}  // namespace nyxgate::app
