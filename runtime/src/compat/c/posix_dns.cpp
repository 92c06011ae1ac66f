// The C face of the name lookups (balrog/compat/c/posix_dns.h): each function forwards to its
// balrog::compat twin (libc's result codes, never an exception); the offload rows run libc's
// call through balrog::compat::offloaded, which may only run out of memory before the call is
// made (reported as libc's failure: NULL / EAI_MEMORY), so nothing crosses the C boundary.
#include "balrog/compat/c/posix_dns.h"

#include <cerrno>

#include "balrog/compat/offloaded.hpp"
#include "balrog/compat/posix_dns.hpp"

extern "C" {

int balrog_getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                       struct addrinfo** res) {
  return balrog::compat::getaddrinfo(node, service, hints, res);
}
int balrog_getnameinfo(const struct sockaddr* addr, socklen_t addrlen, char* host,
                       socklen_t hostlen, char* serv, socklen_t servlen, int flags) {
  return balrog::compat::getnameinfo(addr, addrlen, host, hostlen, serv, servlen, flags);
}
struct hostent* balrog_gethostbyname(const char* name) {
  return balrog::compat::gethostbyname(name);
}
int balrog_gethostbyname_r(const char* name, struct hostent* ret, char* buf, size_t buflen,
                           struct hostent** result, int* h_errnop) {
  return balrog::compat::gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
}

struct hostent* balrog_gethostbyaddr(const void* addr, socklen_t len, int type) {
  try {
    return balrog::compat::offloaded<&::gethostbyaddr>(addr, len, type);
  } catch (...) {
    h_errno = NO_RECOVERY;
    return nullptr;
  }
}
int balrog_gethostbyaddr_r(const void* addr, socklen_t len, int type, struct hostent* ret,
                           char* buf, size_t buflen, struct hostent** result, int* h_errnop) {
  try {
    return balrog::compat::offloaded<&::gethostbyaddr_r>(addr, len, type, ret, buf, buflen, result,
                                                         h_errnop);
  } catch (...) {
    *result = nullptr;
    *h_errnop = NO_RECOVERY;
    return ENOMEM;
  }
}
int balrog_getaddrinfo_a(int mode, struct gaicb* list[], int nitems, struct sigevent* sevp) {
  try {
    return balrog::compat::offloaded<&::getaddrinfo_a>(mode, list, nitems, sevp);
  } catch (...) {
    return EAI_MEMORY;
  }
}
int balrog_gai_suspend(const struct gaicb* const list[], int nitems,
                       const struct timespec* timeout) {
  try {
    return balrog::compat::offloaded<&::gai_suspend>(list, nitems, timeout);
  } catch (...) {
    return EAI_MEMORY;
  }
}

}  // extern "C"
