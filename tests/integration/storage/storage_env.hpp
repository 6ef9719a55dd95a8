#pragma once

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/messages.hpp"
#include "runtime/io_runtime.hpp"
#include "storage/database.hpp"

namespace nyxgate::testing {

/// An actor system, two I/O threads and a storage pool on `conninfo`.
struct storage_env {
  runtime::io_runtime io{2};
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<storage::database> db;

  explicit storage_env(const std::string& conninfo, int pool = 2) {
    cfg.add_message_types<caf::id_block::nyxgate_storage>();
    cfg.add_message_types<caf::id_block::nyxgate>();
    sys = std::make_unique<caf::actor_system>(cfg);
    io.start();
    storage::database_options o;
    o.conninfo = conninfo;
    o.pool_size = pool;
    o.connect_timeout = std::chrono::milliseconds(2000);
    o.query_timeout = std::chrono::milliseconds(3000);
    db = std::make_unique<storage::database>(*sys, io.context(), o);
    BOOST_REQUIRE(db->wait_connected(std::chrono::seconds(20)));
  }
  ~storage_env() {
    db->close();
    sys->await_all_actors_done();
    sys.reset();
    io.stop();
    io.join();
  }
};

}  // namespace nyxgate::testing
