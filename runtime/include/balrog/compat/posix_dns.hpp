// balrog/compat/posix_dns.hpp — getaddrinfo, getnameinfo, gethostbyname and gethostbyname_r,
// made safe to call on a fiber.
//
// balrog-gen's `posix-dns` map rewrites calls of these libc functions to them. Name lookups
// cannot be made non-blocking (DNS, /etc/hosts, NSS modules), so on a fiber the call runs on
// balrog's offload pool (balrog/offload.hpp) while only the calling fiber waits. Same
// signatures and results:
//
//  - Plain thread (sync mode): the libc function is called.
//  - On a fiber: the libc function runs on an offload thread, on copies of the arguments; the
//    answer is copied back (getaddrinfo's list is libc's own: free it with freeaddrinfo).
//    errno (for EAI_SYSTEM) and h_errno are carried back from the offload thread.
//  - Interruptions: when the fiber is cancelled, or an enclosing deadline_scope ends, before the
//    answer arrives, the call returns at once (the lookup finishes on the pool and its answer is
//    dropped): getaddrinfo and getnameinfo return EAI_SYSTEM with errno ECANCELED or ETIMEDOUT;
//    gethostbyname_r returns that errno value with *result null and *h_errnop NETDB_INTERNAL;
//    gethostbyname returns null with h_errno NETDB_INTERNAL and errno set.
//  - Inside C++20 coroutine code (a balrog::task, a chain driven by balrog::await), where
//    waiting would stall the shard: nothing is looked up, and the call fails as above with
//    errno EDEADLK (use co_await balrog::net::async_resolve instead).
//
// gethostbyname's answer lives in storage of the calling OS thread, valid until the next
// gethostbyname call on that thread: every fiber of the thread shares it, as every caller on
// one thread shares libc's. Prefer getaddrinfo.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <cstddef>

namespace balrog::compat {

int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                struct addrinfo** res);
int getnameinfo(const struct sockaddr* addr, socklen_t addrlen, char* host, socklen_t hostlen,
                char* serv, socklen_t servlen, int flags);
struct hostent* gethostbyname(const char* name);
int gethostbyname_r(const char* name, struct hostent* ret, char* buf, std::size_t buflen,
                    struct hostent** result, int* h_errnop);

}  // namespace balrog::compat
