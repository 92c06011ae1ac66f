// balrog/http/client.hpp — the HTTP client: python-requests' API on libcurl, on balrog's
// reactor.
//
//   #include "balrog/http/client.hpp"
//   namespace http = balrog::http;
//
//   // coroutine code
//   http::response r = co_await http::get("https://example.org/");
//   r.raise_for_status();
//
//   // blocking-style code: on a fiber (the fiber waits) or on a plain thread (sync mode)
//   #include "balrog/http/generated/client_blocking.hpp"
//   http::response r = http::blocking::get("https://example.org/");
//   auto r2 = http::blocking::post("https://api.example.org/orders", {.json = order});
//
// What runs underneath. Each thread that makes requests (a shard of the runtime, or a plain
// thread in sync mode) has one libcurl multi handle, driven by libcurl's multi-socket API
// (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION) from the shard's reactor: a request adds its easy
// handle and waits; the reactor wakes a small coroutine (the "pump") when a socket of any
// transfer is ready or libcurl's timer is due; libcurl's callbacks fill the responses and wake
// the requests. So:
//  - connections are reused by every request of the thread (any session), kept in libcurl's
//    connection cache (client_options::max_idle_connections);
//  - HTTPS servers that offer HTTP/2 get concurrent requests multiplexed on one connection;
//  - total and per-host connection limits hold per thread (client_options); requests beyond
//    them wait in libcurl's queue;
//  - name resolution uses libcurl's threaded resolver, TLS is OpenSSL, with the system CA
//    store; nothing blocks the shard except libcurl's own work (and local file reads for
//    file uploads).
// A request belongs to the thread that awaits it. In sync mode each blocking-style call runs a
// private scheduler (balrog::await); the thread's connections survive between calls.
//
// Timeouts: the request's own (session_options: timeout, connect_timeout, idle_timeout)
// throw http::timeout; an enclosing balrog::deadline_scope throws balrog::timeout_error and
// stops the transfer; cancelling the fiber or task throws balrog::cancelled and stops it too.
//
// The free functions below make one-off requests with a default session_options and no cookie
// jar (python-requests' requests.get). Use a session (session.hpp) for shared settings and
// cookies. Every function is a coroutine with a blocking-style twin in balrog::http::blocking
// (balrog/http/generated/client_blocking.hpp).
#pragma once

#include <cstddef>
#include <string>

#include "balrog/http/error.hpp"
#include "balrog/http/request.hpp"
#include "balrog/http/response.hpp"
#include "balrog/http/session.hpp"
#include "balrog/task.hpp"

namespace balrog::http {

task<response> request(std::string method, std::string url);
task<response> request(std::string method, std::string url, request_options options);
task<response> get(std::string url);
task<response> get(std::string url, request_options options);
task<response> head(std::string url);
task<response> head(std::string url, request_options options);
task<response> post(std::string url);
task<response> post(std::string url, request_options options);
task<response> put(std::string url);
task<response> put(std::string url, request_options options);
task<response> patch(std::string url);
task<response> patch(std::string url, request_options options);
task<response> delete_(std::string url);
task<response> delete_(std::string url, request_options options);

// The connection cache and its limits, per thread (shard). Each field costs what it says;
// 0 means "no limit" or "libcurl's default" as noted.
struct client_options {
  // Open connections per thread at most (CURLMOPT_MAX_TOTAL_CONNECTIONS); requests beyond it
  // wait for one to free up. 0: no limit (each costs an fd and, for TLS, ~50 KiB).
  std::size_t max_connections = 0;
  // The same per host:port (CURLMOPT_MAX_HOST_CONNECTIONS). 0: no limit.
  std::size_t max_connections_per_host = 0;
  // Idle connections kept for reuse (CURLMOPT_MAXCONNECTS), the least recently used closed
  // first. 0: libcurl's default, four times the number of requests in flight.
  std::size_t max_idle_connections = 0;
  // Concurrent requests on one HTTP/2 connection (CURLMOPT_MAX_CONCURRENT_STREAMS); the server
  // may allow fewer.
  std::size_t max_concurrent_streams = 100;
  // Multiplex requests on HTTP/2 connections (CURLMOPT_PIPELINING). false: one request per
  // connection at a time, as HTTP/1.1.
  bool multiplex = true;
};

// Sets the options of every thread's connection cache; each thread applies them before its
// next request. Thread-safe.
void configure(const client_options& options);
// The options in force.
[[nodiscard]] client_options current_client_options();

}  // namespace balrog::http
