// The C face of the name lookups (balrog/compat/c/posix_dns.h): each function forwards to its
// balrog::compat twin (libc's result codes, never an exception).
#include "balrog/compat/c/posix_dns.h"

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

}  // extern "C"
