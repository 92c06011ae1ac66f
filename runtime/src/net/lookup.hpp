// The sans-IO half of net::resolve: one getaddrinfo call, and what its answer means.
//
// resolve() (blocking-style, resolve.cpp) runs numeric_lookup at once and, for names,
// lookup() on the offload pool; a coroutine form would do the same with an awaitable offload.
// Both turn the answer into endpoints or a resolve_error with endpoints_from().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "balrog/net/endpoint.hpp"

namespace balrog::net::detail {

// What one getaddrinfo call found: a plain value, so it can come back from another thread.
struct lookup_result {
  int code = 0;       // getaddrinfo's return value; EAI_NONAME from numeric_lookup: a name
  int sys_errno = 0;  // errno, for EAI_SYSTEM (read on the thread that made the call)
  std::vector<endpoint> found;  // IPv4 and IPv6 only, in getaddrinfo's order, no duplicates
};

// The host as getaddrinfo wants it ("[::1]" -> "::1"). Throws usage_error for "".
std::string lookup_host(std::string host);

// Never blocks: AI_NUMERICHOST. code == EAI_NONAME means `host` is a name: call lookup().
lookup_result numeric_lookup(const std::string& host, std::uint16_t port);

// May block for seconds (DNS, NSS): run it where blocking is harmless.
lookup_result lookup(const std::string& host, std::uint16_t port);

// The endpoints, or resolve_error naming `host` and gai_strerror's text.
std::vector<endpoint> endpoints_from(const std::string& host, lookup_result r);

// "balrog::net::resolve(\"host\")".
std::string describe_resolve(const std::string& host);

}  // namespace balrog::net::detail
