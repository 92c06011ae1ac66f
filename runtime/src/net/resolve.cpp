#include "balrog/net/resolve.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/offload.hpp"
#include "net/lookup.hpp"
#include "net/operations.hpp"

namespace balrog::net {

namespace detail {

namespace {

lookup_result getaddrinfo_once(const std::string& host, std::uint16_t port, int flags) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // No AI_ADDRCONFIG: glibc ignores loopback when deciding which families are "configured",
  // so on a host with only loopback (CI sandboxes, containers) "localhost" would resolve to
  // nothing. connect(host, port) tries every address anyway, skipping unusable families.
  hints.ai_flags = flags | AI_NUMERICSERV;
  const std::string service = std::to_string(port);
  addrinfo* list = nullptr;
  lookup_result r;
  r.code = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  if (r.code == EAI_SYSTEM) r.sys_errno = errno;
  if (r.code != 0) return r;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    endpoint ep = endpoint::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
    if (std::find(r.found.begin(), r.found.end(), ep) == r.found.end()) {
      r.found.push_back(std::move(ep));
    }
  }
  ::freeaddrinfo(list);
  return r;
}

}  // namespace

std::string describe_resolve(const std::string& host) {
  return "balrog::net::resolve(\"" + host + "\")";
}

std::string lookup_host(std::string host) {
  if (host.empty()) throw usage_error("balrog::net::resolve: empty host name");
  // "[::1]" is how IPv6 hosts are written next to a port; getaddrinfo wants "::1".
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

lookup_result numeric_lookup(const std::string& host, std::uint16_t port) {
  return getaddrinfo_once(host, port, AI_NUMERICHOST);
}

lookup_result lookup(const std::string& host, std::uint16_t port) {
  return getaddrinfo_once(host, port, 0);
}

lookup_result offloaded_lookup(const std::string& host, std::uint16_t port, deadline until) {
  const bool own_first = own_deadline_first(until);
  try {
    deadline_scope scope(until);
    // Captured by value: on cancellation or timeout the lookup outlives this frame.
    return offload([host, port] { return lookup(host, port); });
  } catch (const timeout_error&) {
    if (own_first) throw timeout_error(describe_resolve(host) + ": deadline exceeded");
    throw;
  }
}

std::vector<endpoint> endpoints_from(const std::string& host, lookup_result r) {
  if (r.code != 0) {
    std::string what = describe_resolve(host) + ": " + ::gai_strerror(r.code);
    if (r.code == EAI_SYSTEM) what += ": " + std::generic_category().message(r.sys_errno);
    throw resolve_error(host, r.code, what);
  }
  if (r.found.empty()) {
    throw resolve_error(host, EAI_NONAME, describe_resolve(host) + ": no IPv4 or IPv6 address");
  }
  return std::move(r.found);
}

}  // namespace detail

std::vector<endpoint> resolve(std::string host, std::uint16_t port, deadline until) {
  host = detail::lookup_host(std::move(host));
  detail::lookup_result r = detail::numeric_lookup(host, port);  // never blocks
  if (r.code == EAI_NONAME) r = detail::offloaded_lookup(host, port, until);
  return detail::endpoints_from(host, std::move(r));
}

namespace detail {

namespace {

// resolve() above, co_awaiting: a name's offloaded_lookup waits on a fiber of this shard.
task<std::vector<endpoint>> resolve_task(std::string host, std::uint16_t port, deadline until) {
  host = lookup_host(std::move(host));
  lookup_result r = numeric_lookup(host, port);  // never blocks
  if (r.code == EAI_NONAME) {
    // The fiber runs under the coroutine's deadline_scope, so that offloaded_lookup tells the
    // call's own deadline from the scope's exactly as it does for resolve(). (on_fiber also
    // cancels the fiber when that scope passes or the coroutine is cancelled.)
    auto on_pool = [host, port, until, scope = current_deadline()] {
      deadline_scope in_scope(scope);
      return offloaded_lookup(host, port, until);
    };
    r = co_await on_fiber(std::move(on_pool));  // a named closure: see GCC 12 in task.hpp
  }
  co_return endpoints_from(host, std::move(r));
}

}  // namespace

}  // namespace detail

task<std::vector<endpoint>> async_resolve(std::string host, std::uint16_t port, deadline until) {
  return detail::resolve_task(std::move(host), port, until);
}

}  // namespace balrog::net
