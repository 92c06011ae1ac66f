/* balrog/compat/c/posix_dns.h — the name lookups' C face.
 *
 * The functions of balrog/compat/posix_dns.hpp with C linkage: balrog_getaddrinfo,
 * balrog_getnameinfo, balrog_gethostbyname, balrog_gethostbyname_r, with libc's exact
 * signatures and results (EAI_* codes, h_errno). On a fiber libc's lookup runs on the offload
 * pool while only the fiber waits; off a fiber it is libc's own. balrog-gen rewrites calls in
 * C files to them (the posix-dns map). posix_dns.hpp is the manual. Free the results with
 * libc's freeaddrinfo.
 *
 * The map's offload rows (gethostbyaddr, gethostbyaddr_r, getaddrinfo_a, gai_suspend) have
 * C twins too: libc's call run through balrog::compat::offloaded (balrog/compat/offloaded.hpp),
 * on the offload pool while only the fiber waits; libc's own off a fiber.
 *
 * The program links balrog::runtime (a C++ library). Usable from C99 and later, and from C++.
 */
#ifndef BALROG_COMPAT_C_POSIX_DNS_H
#define BALROG_COMPAT_C_POSIX_DNS_H

#include <netdb.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

int balrog_getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                       struct addrinfo** res);
int balrog_getnameinfo(const struct sockaddr* addr, socklen_t addrlen, char* host,
                       socklen_t hostlen, char* serv, socklen_t servlen, int flags);
struct hostent* balrog_gethostbyname(const char* name);
int balrog_gethostbyname_r(const char* name, struct hostent* ret, char* buf, size_t buflen,
                           struct hostent** result, int* h_errnop);

/* Offloaded. struct gaicb is glibc's (<netdb.h> with _GNU_SOURCE). */
struct gaicb;
struct hostent* balrog_gethostbyaddr(const void* addr, socklen_t len, int type);
int balrog_gethostbyaddr_r(const void* addr, socklen_t len, int type, struct hostent* ret,
                           char* buf, size_t buflen, struct hostent** result, int* h_errnop);
int balrog_getaddrinfo_a(int mode, struct gaicb* list[], int nitems, struct sigevent* sevp);
int balrog_gai_suspend(const struct gaicb* const list[], int nitems,
                       const struct timespec* timeout);

#ifdef __cplusplus
}
#endif

#endif /* BALROG_COMPAT_C_POSIX_DNS_H */
