#pragma once
// One HTTP client connection (reading, 100-continue, pipelining, the handler's answer through
// the writer, keep-alive, linger, timeouts, the WebSocket hand-over). Included by the listener
// only: it brings Asio's socket types.

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "net/http/server_core.hpp"

namespace nyxgate::net::detail {

/// Sockets and timers name the shard's executor type: `tcp::socket` and `steady_timer`
/// type-erase theirs (`any_io_executor`), and every operation copies, moves and destroys that
/// wrapper several times.
using shard_executor = boost::asio::io_context::executor_type;
using shard_socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, shard_executor>;

/// Starts a session on `socket`, whose shard's one thread runs it from then on, and registers
/// it with the listener for shutdown. Over capacity, it answers 503 and closes.
void start_session(shard_socket socket, std::shared_ptr<server_core> core, bool over_capacity);

}  // namespace nyxgate::net::detail
