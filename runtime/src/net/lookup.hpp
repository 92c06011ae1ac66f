// The sans-IO half of net::resolve: one getaddrinfo call, and what its answer means.
//
// resolve() (blocking-style, resolve.cpp) runs numeric_lookup at once and, for names,
// offloaded_lookup(); async_resolve() does the same, waiting for offloaded_lookup on a fiber
// (co_await balrog::on_fiber). Both turn the answer into endpoints or a resolve_error with
// endpoints_from().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "balrog/deadline.hpp"
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

// lookup() on the offload pool, the caller (a fiber or a plain thread) waiting until `until`
// or the enclosing deadline_scope: timeout_error "balrog::net::resolve(\"host\"): deadline
// exceeded" for `until`, the plain one for the scope; cancelled.
lookup_result offloaded_lookup(const std::string& host, std::uint16_t port, deadline until);

// The endpoints, or resolve_error naming `host` and gai_strerror's text.
std::vector<endpoint> endpoints_from(const std::string& host, lookup_result r);

// "balrog::net::resolve(\"host\")".
std::string describe_resolve(const std::string& host);

}  // namespace balrog::net::detail
