#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "providers/key_status.hpp"

/// The cheapest authenticated call per provider (apiKeys.test, github.viewer), and what its
/// answer says about the key. Pure: no network here.
namespace nyxgate::providers {

struct probe_request {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  ///< carry the secret: never log
};

/// GET list-models (or GitHub's /user) with the provider's own authentication header.
probe_request key_probe(std::string_view provider, std::string_view base_url,
                        std::string_view secret);

struct probe_verdict {
  std::optional<key_status> status;  ///< active | cooldown | invalid; none: leave it alone
  std::string reason;  ///< short, for status_reason and the reply; never provider text verbatim
};

/// `http_status` 0 means no answer (transport failure, `transport_error` says why).
probe_verdict classify_probe(std::string_view provider, unsigned http_status, std::string_view body,
                             std::string_view transport_error);

}  // namespace nyxgate::providers
