#pragma once

#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "actors/interfaces.hpp"

namespace nyxgate::api {

/// Asks a tenant actor from a coroutine; the answer is posted back onto the coroutine's
/// executor. A dead actor answers through the sink's fallback, so nothing waits forever.
boost::asio::awaitable<actors::resolve_answer> ask_resolve(actors::tenant_actor tenant,
                                                           actors::resolve_query query);
/// The "provider/model" ids a user can call (providers with a usable key for them).
boost::asio::awaitable<std::vector<std::string>> ask_models(actors::tenant_actor tenant,
                                                            std::string user_id);
/// Reloads the tenant's keys and defaults; empty on success, else what failed.
boost::asio::awaitable<std::string> ask_reload(actors::tenant_actor tenant);
/// The same round trip to an actor that does nothing: the benchmark baseline.
boost::asio::awaitable<actors::resolve_answer> ask_echo(actors::echo_actor echo,
                                                        actors::resolve_query query);

}  // namespace nyxgate::api
