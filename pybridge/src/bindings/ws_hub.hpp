// balrog.ws's C++ half (ws_bindings.cpp), shared with the WSGI server (wsgi_bindings.cpp).
#pragma once

#include <string>
#include <string_view>

#include "balrog/http/server/request.hpp"
#include "balrog/http/websocket/connection.hpp"
#include "balrog/http/websocket/hub.hpp"

namespace balrog::python {

// The process-wide hub (never destroyed).
balrog::http::websocket::hub& process_ws_hub();
// A client's key: cookie `name`, else query parameter `name`; empty when neither.
std::string websocket_client_key(const balrog::http::server::request& req, std::string_view name);
// The WebSocket route handler of a WSGI server's websocket_path: registers the connection
// under its key and receives until the client goes (closes with 1008 when it has no key).
void serve_websocket_client(const balrog::http::server::request& req,
                            balrog::http::websocket::connection& c, const std::string& name);

}  // namespace balrog::python
