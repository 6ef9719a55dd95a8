#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "telemetry/metrics.hpp"

namespace nyxgate::net {

/// A request as the session hands it to the router: fully read, limits already enforced.
/// Deliberately free of Beast types so handlers compile without Beast headers.
struct http_request {
  std::string method;  ///< "GET", "POST", ...
  std::string target;  ///< path plus query string, as received
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
  std::string request_id;
  std::string remote_address;
  std::chrono::steady_clock::time_point received_at;

  /// First header with this lower-case name, or empty.
  std::string_view header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers)
      if (k == lower_name) return v;
    return {};
  }
};

struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// Route label for metrics; set by the router.
  telemetry::route_kind route = telemetry::route_kind::other;
};

/// Completes a request. Call exactly once, from any thread: the session posts the write onto
/// its own strand. Calling it after the client went away does nothing.
using respond_fn = std::function<void(http_response)>;

/// The application's entry point for a request.
using http_handler = std::function<void(http_request, respond_fn)>;

}  // namespace nyxgate::net
