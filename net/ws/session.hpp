#pragma once

// Internal to the HTTP server: includes Beast. Only http_server.cpp and ws_session.cpp use it.

#include <memory>
#include <string>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "net/http/server_core.hpp"
#include "net/http/types.hpp"

namespace nyxgate::net::detail {

/// Takes over an HTTP connection whose request was a WebSocket upgrade the application
/// accepted: answers 101, then runs `endpoint` on the socket until either side closes.
/// Registers itself with `core` (it counts as an open connection and drains on shutdown).
void start_ws_session(boost::beast::tcp_stream stream,
                      boost::beast::http::request<boost::beast::http::string_body> upgrade,
                      std::shared_ptr<ws_endpoint> endpoint, std::shared_ptr<server_core> core,
                      std::string request_id);

}  // namespace nyxgate::net::detail
