#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "api/trpc/codec.hpp"
#include "identity/authenticator.hpp"
#include "net/http/types.hpp"

namespace nyxgate::api {

struct procedure_context {
  const identity::principal& who;
  const net::http_request& request;
};

using procedure_result = std::variant<boost::json::value, trpc_error>;
using procedure_fn = std::function<boost::asio::awaitable<procedure_result>(
    const procedure_context&, const std::optional<boost::json::value>&)>;

/// A subscription's producer: called once the head of its stream (and the `connected` event)
/// went out, with the writer its events go to.
using stream_fn = std::function<void(std::shared_ptr<net::response_writer>)>;
using subscription_result = std::variant<stream_fn, trpc_error>;
using subscription_fn = std::function<boost::asio::awaitable<subscription_result>(
    const procedure_context&, const std::optional<boost::json::value>&)>;

/// Maps tRPC paths to procedures. Authenticates once per HTTP request (when a call needs a
/// token), runs the calls of a batch in order, and renders the tRPC reply.
class trpc_router {
 public:
  trpc_router(identity::authenticator& auth, trpc_parse_limits limits);

  void add(std::string path, trpc_kind kind, procedure_fn fn);
  /// A procedure that needs no token (invites.redeem); its context's principal is empty.
  void add_public(std::string path, trpc_kind kind, procedure_fn fn);
  /// A subscription: one call per GET (never batched), answered as Server-Sent Events; its
  /// errors, as @trpc/server sends them, are a `serialized-error` event.
  void add_subscription(std::string path, subscription_fn fn);

  boost::asio::awaitable<net::http_response> handle(const net::http_request& request);

  /// Every registered path with its kind, sorted by path: the registry tests walk.
  std::vector<std::pair<std::string, trpc_kind>> procedures() const;

 private:
  struct procedure {
    trpc_kind kind;
    procedure_fn fn;
    bool needs_token = true;
    subscription_fn subscribe{};
  };
  boost::asio::awaitable<net::http_response> subscribe(const procedure& p, const trpc_call& call,
                                                       const net::http_request& request);
  identity::authenticator& auth_;
  trpc_parse_limits limits_;
  std::unordered_map<std::string, procedure> procedures_;
};

}  // namespace nyxgate::api
