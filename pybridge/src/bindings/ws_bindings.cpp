// balrog._native's WebSocket hub: the server side of balrog.ws (docs/python.md, "WebSocket
// endpoint: balrog.ws").
//
// One process-wide balrog::http::websocket::hub. A WSGI server given a websocket path
// (WsgiServer option "websocket_path") serves WebSocket upgrades there with a C++ route: the
// connection's fiber finds the client's key (a cookie, else a query parameter, both named by
// the "websocket_key" option), registers the connection under it and receives (and drops)
// what the client sends until it goes. No Python runs for a connected client. Python sends
// with ws_send(key, text) from any greenlet: the hub writes the message whole, in order per
// connection, and the greenlet waits (on a fiber, the hub serving meanwhile) until every
// connection under the key has it in its kernel buffer: back-pressure from a client that does
// not read, bounded by the connection's write_timeout.
#include <pybind11/stl.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "balrog/http/server/request.hpp"
#include "balrog/http/websocket.hpp"
#include "balrog/python/await.hpp"
#include "bindings/bindings.hpp"
#include "bindings/ws_hub.hpp"

namespace balrog::python {

namespace py = pybind11;
namespace ws = balrog::http::websocket;
namespace hs = balrog::http::server;

ws::hub& process_ws_hub() {
  // Never destroyed: registrations of connections still open at exit must not outlive it.
  static auto* h = new ws::hub();
  return *h;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of cookie `name` in a Cookie header ("a=1; b=2"), quotes removed.
std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    std::string_view pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return std::string(value);
  }
  return std::nullopt;
}

}  // namespace

std::string websocket_client_key(const hs::request& req, std::string_view name) {
  for (const auto& f : req.headers()) {
    if (boost::beast::iequals(f.name_string(), "cookie")) {
      if (auto v = cookie_value(f.value(), name); v && !v->empty()) return *v;
    }
  }
  if (auto q = req.query_param(name); q && !q->empty()) return *q;
  return {};
}

void serve_websocket_client(const hs::request& req, ws::connection& c, const std::string& name) {
  std::string key = websocket_client_key(req, name);
  if (key.empty()) {
    c.close(ws::close_codes::policy_violation, "no client key (cookie or query '" + name + "')");
    return;
  }
  ws::hub::registration reg;
  try {
    reg = process_ws_hub().add(std::move(key), c);
  } catch (const ws::connection_closed&) {
    return;
  }
  // What the client sends is not used; receiving answers its pings and sees it go.
  while (c.receive()) {
  }
}

void define_ws(py::module_& m) {
  m.def(
      "ws_send",
      [](std::string key, std::string text) {
        return await_fiber(
            [k = std::move(key), t = std::move(text)] { return process_ws_hub().send(k, t); });
      },
      py::arg("key"), py::arg("text"));
  m.def(
      "ws_send_binary",
      [](std::string key, const py::bytes& data) {
        return await_fiber([k = std::move(key), d = std::string(data)] {
          return process_ws_hub().send_binary(
              k,
              std::span<const std::byte>(reinterpret_cast<const std::byte*>(d.data()), d.size()));
        });
      },
      py::arg("key"), py::arg("data"));
  m.def(
      "ws_broadcast",
      [](std::string text) {
        return await_fiber([t = std::move(text)] { return process_ws_hub().broadcast(t); });
      },
      py::arg("text"));
  m.def(
      "ws_close",
      [](std::string key, std::uint16_t code, std::string reason) {
        return await_fiber([k = std::move(key), code, r = std::move(reason)] {
          return process_ws_hub().close(k, code, r);
        });
      },
      py::arg("key"), py::arg("code") = ws::close_codes::normal, py::arg("reason") = "");
  m.def(
      "ws_count",
      [](std::string key) {
        return await_fiber([k = std::move(key)] { return process_ws_hub().count(k); });
      },
      py::arg("key"));
  m.def("ws_size", [] { return await_fiber([] { return process_ws_hub().size(); }); });
}

}  // namespace balrog::python
