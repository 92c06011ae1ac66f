// balrog/http/server/options.hpp — the HTTP server's limits, timeouts and tunables.
//
//   hs::server srv(std::move(router), {.max_body_bytes = 16 << 20, .idle_timeout = 5s});
//
// Every read the server does is bounded in size and in time, so a client that sends too much
// or too slowly costs at most one fiber (one thread in sync mode) until its deadline, and is
// then answered or dropped. The defaults follow nginx's where nginx has one.
//
// Limits are answered with the status RFC 9110/6585 gives them, then the connection closes
// (after a short drain of what the client was still sending, so the client reads the answer
// instead of a reset):
//   request line / header malformed                 400 Bad Request
//   URL (the request target) > max_url_bytes        414 URI Too Long
//   header block > max_header_bytes, or more than
//   max_header_fields fields                        431 Request Header Fields Too Large
//   body > max_body_bytes (declared or chunked)     413 Content Too Large
//   header or body not received in time             408 Request Timeout
//   HTTP/1.1 request without Host                   400 Bad Request
//   a version other than HTTP/1.0 and 1.1           505 HTTP Version Not Supported
// A zero limit or timeout is refused (usage_error from the server's constructor), except
// where the field says what zero means.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>

#include "balrog/fiber.hpp"
#include "balrog/net/listener.hpp"
#include "balrog/net/tls_stream.hpp"

namespace balrog::http::server {

class request;

struct options {
  // --- limits -------------------------------------------------------------------------------

  // The whole header block (request line and every field, with their line ends). Costs up to
  // this much buffer per connection while a header arrives. nginx: 4 x 8k buffers.
  std::size_t max_header_bytes = 16 * 1024;
  // Header fields per request. Apache's LimitRequestFields.
  std::size_t max_header_fields = 100;
  // The request target (path and query, as sent). nginx answers 414 beyond 8k.
  std::size_t max_url_bytes = 8 * 1024;
  // A request body, after chunked decoding; a larger Content-Length is refused before any of
  // the body is read (and before "100 Continue"). The body is held in memory: this is also
  // the memory one request may take. nginx's client_max_body_size.
  std::uint64_t max_body_bytes = 1024 * 1024;
  // Open connections, over all shards. At the limit the server stops accepting: new clients
  // wait in the kernel's accept queue (listen.backlog) until a connection closes. Each
  // connection costs a file descriptor (check ulimit -n) and, while idle, a few kilobytes.
  std::size_t max_connections = 10'000;

  // --- timeouts -----------------------------------------------------------------------------

  // From a new connection's accept, or a kept-alive connection's first byte of its next
  // request, to the end of that request's header. Slowloris clients end here (408).
  std::chrono::milliseconds header_timeout = std::chrono::seconds(10);
  // From the end of the header to the end of the body (408 when it passes).
  std::chrono::milliseconds body_timeout = std::chrono::seconds(30);
  // How long a kept-alive connection waits for its next request before the server closes it.
  // nginx: keepalive_timeout 75s.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  // The longest one write of a response may wait for the client to take bytes; every byte it
  // takes restarts the wait (nginx's send_timeout). The connection is dropped when it passes.
  std::chrono::milliseconds write_timeout = std::chrono::seconds(30);
  // A connection idle this long gives its fiber (and stack) back and waits as a small
  // coroutine on the reactor until its next request arrives, when it gets a fresh fiber. Lower
  // saves memory with many quiet connections; higher saves a fiber switch-over per request on
  // connections that send every few milliseconds. Zero: give the fiber back at once. Ignored
  // in sync mode (a thread per connection).
  std::chrono::milliseconds idle_fiber_linger = std::chrono::milliseconds(100);
  // shutdown()'s default grace: how long requests in flight may take to finish before their
  // fibers are cancelled and their connections dropped.
  std::chrono::milliseconds shutdown_grace = std::chrono::seconds(30);

  // --- behaviour ----------------------------------------------------------------------------

  // The Server header of every response; empty: none.
  std::string server_name = "balrog";
  // Each connection's first read buffer; it grows up to max_header_bytes for a large header
  // and is given back while the connection is idle.
  std::size_t read_buffer_bytes = 4096;
  // HTTPS: the certificate chain and key (files or PEM text), ALPN, client certificates...
  // (net::tls_server_options, balrog/net/tls_stream.hpp). Empty: plain HTTP. The server's
  // constructor loads them once (tls_error for a file OpenSSL cannot load). Each connection's
  // handshake runs on its fiber within header_timeout; a client that fails it (not TLS, no
  // common version, a bad client certificate) is dropped and the server goes on. Over TLS,
  // static files are read and encrypted instead of sendfile(2), and an idle connection keeps
  // its fiber (OpenSSL may hold decrypted bytes the socket no longer shows). WebSocket routes
  // work over TLS too (wss://).
  std::optional<net::tls_server_options> tls{};
  // Options of the listening sockets. reuse_port is forced on when the runtime has several
  // shards (one listener per shard, the kernel spreads connections).
  net::listen_options listen{};
  // The fibers that serve connections. The default (guarded 256 KiB stacks) suits handlers
  // that call drivers, parse JSON and log; a dense stack saves address space but gives
  // handlers only 16 KiB (see balrog/stack.hpp).
  fiber_options connection_fiber{.name = "http-connection"};
  // Called when a handler throws something other than http_error (the client gets a 500).
  // Runs on the connection's fiber. Empty: a line on stderr naming the request and the error.
  std::function<void(const request&, std::exception_ptr)> on_handler_error{};
};

}  // namespace balrog::http::server
