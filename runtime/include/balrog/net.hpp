// balrog/net.hpp — TCP and Unix stream sockets: blocking-style on fibers and plain threads,
// and async_ forms (balrog::task) for coroutines. Both are driven from one sans-IO core.
//
//   endpoint.hpp  addresses: IPv4, IPv6, Unix paths and abstract names; parse / to_string
//   resolve.hpp   host names to endpoints (getaddrinfo through offload)
//   stream.hpp    a connected socket: connect, read_some/read_exact, write_some/write_all,
//                 shutdown, close
//   listener.hpp  listen and accept
#pragma once

#include "balrog/net/endpoint.hpp"
#include "balrog/net/listener.hpp"
#include "balrog/net/resolve.hpp"
#include "balrog/net/stream.hpp"
