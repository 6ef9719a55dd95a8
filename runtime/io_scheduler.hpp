#pragma once

#include <caf/fwd.hpp>

namespace nyxgate::runtime {

class io_runtime;


/// Makes the actor system built from `cfg` run its (event-based) actors on `io`'s threads
/// instead of a pool of its own: a message to an actor becomes a step on an io_context,
/// queued on the sending thread when that is one of `io`'s threads (`run_soon`: the
/// steps of a cascade share one Asio handler). A call then crosses no
/// thread on its way session → request actor → tenant actor → provider actor → exchange →
/// session, which on a small machine is most of its cost (benchmarks/README.md). Timers
/// (delayed messages) keep CAF's clock thread. `io` must outlive the actor system, and its
/// threads must run until every actor is done.
void run_actors_on(caf::actor_system_config& cfg, io_runtime& io);

}  // namespace nyxgate::runtime
