// balrog/http/websocket/client.hpp — opening a WebSocket to a server.
//
//   auto ws = balrog::http::websocket::connect("ws://127.0.0.1:8080/chat?room=7");
//   ws.send("hello");
//   while (auto m = ws.receive()) { ... }
//
// connect() resolves the host (net::connect: numeric addresses at once, names on the offload
// pool), connects, and runs the opening handshake (RFC 6455 §4): the connection it returns is
// open, ready to send and receive (balrog/http/websocket/connection.hpp). The whole of it is
// bounded by options::handshake_timeout (and an enclosing deadline_scope). Blocking-style: a
// fiber suspends, a plain thread blocks.
//
// wss:// URLs (port 443 by default) run the TLS handshake first, with options::tls: the server's
// certificate is verified against the host name (on by default; net::tls_error when it fails).
#pragma once

#include <boost/beast/http/fields.hpp>
#include <string_view>

#include "balrog/http/websocket/connection.hpp"

namespace balrog::http::websocket {

// Throws usage_error for a URL that is not ws[s]://host[:port][/path][?query]; resolve_error,
// io_error (ECONNREFUSED...) for the connection; net::tls_error for TLS; handshake_error when the
// server answers anything but 101; timeout_error when handshake_timeout passes.
[[nodiscard]] connection connect(std::string_view url, const options& opts = {},
                                 const boost::beast::http::fields& headers = {});

}  // namespace balrog::http::websocket
