// The parts of balrog._native, each defined by its own file.
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <string_view>

#include "balrog/http/server/request.hpp"
#include "balrog/http/websocket/connection.hpp"
#include "balrog/http/websocket/hub.hpp"

#include "balrog/python/api.hpp"

namespace balrog::python {

void define_hub(pybind11::module_& m);
void define_pg(pybind11::module_& m);
void define_http(pybind11::module_& m);
void define_wsgi(pybind11::module_& m);
void define_ws(pybind11::module_& m);

// balrog.ws (ws_bindings.cpp): the process-wide hub, a client's key (cookie `name`, else query
// parameter `name`; empty when neither), and the route handler WSGI servers use for it.
balrog::http::websocket::hub& process_ws_hub();
std::string websocket_client_key(const balrog::http::server::request& req, std::string_view name);
void serve_websocket_client(const balrog::http::server::request& req,
                            balrog::http::websocket::connection& c, const std::string& name);

// Fills balrog._native (pybridge/src/module.cpp is only this call).
BALROG_PYTHON_API void define_native_module(pybind11::module_& m);

}  // namespace balrog::python
