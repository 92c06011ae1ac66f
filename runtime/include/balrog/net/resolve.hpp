// balrog/net/resolve.hpp — host names to endpoints.
//
//   for (const auto& ep : balrog::net::resolve("example.org", 443)) { ... }
//
// resolve(host, port) asks getaddrinfo(3) for the stream-socket addresses of `host`, IPv4 and
// IPv6 (AF_UNSPEC), in the order the system prefers (RFC 6724, /etc/gai.conf); duplicates are
// dropped. Numeric hosts ("127.0.0.1", "::1", "fe80::1%eth0") are converted at once without a
// lookup. Names go through balrog::offload: getaddrinfo blocks (DNS, /etc/hosts, NSS), so it
// runs on the offload pool while the calling fiber waits and the shard's other fibers run; on
// a plain thread the call blocks the thread, as offload does.
//
// The wait is a suspension point: cancelled when the fiber is cancelled, timeout_error when
// `until` (or an enclosing deadline_scope) passes first — the lookup itself cannot be
// interrupted and finishes on the pool, its answer dropped. A numeric host never waits.
//
// Errors: resolve_error (a balrog::error) when the lookup fails or finds no address; what()
// names the host and gives gai_strerror's text ("balrog::net::resolve(\"nosuch.invalid\"):
// Name or service not known"), and gai_code() the EAI_* code. usage_error for an empty host.
//
// Coroutine code resolves with co_await async_resolve(host, port, until): same answer, same
// errors, same deadline and cancellation rules, and it never blocks the shard either. A
// numeric host is converted at once, without suspending. A name is looked up by the very code
// resolve() uses, on the offload pool, waited for by a short-lived fiber of the current shard
// (co_await balrog::on_fiber: coroutines have no awaitable form of offload); the coroutine
// suspends meanwhile. Cancelling the coroutine, or its deadline passing, cancels that fiber,
// whose wait ends at once; the lookup finishes on the pool and its answer is dropped.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/errors.hpp"
#include "balrog/net/endpoint.hpp"
#include "balrog/task.hpp"

namespace balrog::net {

class resolve_error : public error {
 public:
  resolve_error(std::string host, int gai_code, const std::string& what_arg)
      : error(what_arg), host_(std::move(host)), gai_code_(gai_code) {}
  // The name that failed to resolve.
  [[nodiscard]] const std::string& host() const noexcept { return host_; }
  // getaddrinfo's result: EAI_NONAME (no such name), EAI_AGAIN (temporary DNS failure), ...
  [[nodiscard]] int gai_code() const noexcept { return gai_code_; }

 private:
  std::string host_;
  int gai_code_;
};

// The addresses of `host` with `port`, never empty. See above.
std::vector<endpoint> resolve(std::string host, std::uint16_t port,
                              deadline until = deadline::never());

// The coroutine form of resolve(): co_await it. `host` is copied into the task.
[[nodiscard]] task<std::vector<endpoint>> async_resolve(std::string host, std::uint16_t port,
                                                        deadline until = deadline::never());

}  // namespace balrog::net
