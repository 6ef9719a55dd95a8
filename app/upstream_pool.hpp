#pragma once

#include <memory>

#include "actors/upstream.hpp"

namespace nyxgate::net {
class shard_client;
}

namespace nyxgate::app {

/// The provider actors' upstream pool (actors/upstream.hpp) on a shard of the HTTPS client.
actors::upstream_pool_ptr make_upstream_pool(std::shared_ptr<net::shard_client> shard);

}  // namespace nyxgate::app
