/* balrog/compat/c/posix_net.h — the POSIX socket calls' C face.
 *
 * The functions of balrog/compat/posix_net.hpp with C linkage, each named balrog_<libc name>
 * (balrog_recv, balrog_poll...), with libc's exact signatures and semantics: the return value,
 * errno, partial transfers, SO_RCVTIMEO/SO_SNDTIMEO, SIGPIPE. It is what balrog-gen rewrites
 * calls in C files (.c) to: recv(fd, buf, n, 0) becomes balrog_recv(fd, buf, n, 0), and this
 * header is included. On a fiber each call suspends the fiber instead of the thread; on a
 * plain thread without a balrog runtime it is libc's own. posix_net.hpp is the manual:
 * everything there holds here (cancellation, deadlines and calls made inside coroutine code
 * are reported as errno ECANCELED / ETIMEDOUT / EDEADLK, never an exception — none crosses
 * this interface).
 *
 * The program links balrog::runtime (a C++ library: link with a C++ driver, or add -lstdc++).
 * Usable from C99 and later, and from C++.
 */
#ifndef BALROG_COMPAT_C_POSIX_NET_H
#define BALROG_COMPAT_C_POSIX_NET_H

#include <poll.h>
#include <stddef.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* glibc's own spellings of the address parameters (a transparent union in GNU C), so that
 * every call that compiles with libc's function compiles with its twin. */
int balrog_connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len);
int balrog_accept(int fd, __SOCKADDR_ARG addr, socklen_t* addr_len);
int balrog_accept4(int fd, __SOCKADDR_ARG addr, socklen_t* addr_len, int flags);

ssize_t balrog_read(int fd, void* buf, size_t count);
ssize_t balrog_write(int fd, const void* buf, size_t count);

ssize_t balrog_recv(int fd, void* buf, size_t len, int flags);
ssize_t balrog_send(int fd, const void* buf, size_t len, int flags);
ssize_t balrog_recvfrom(int fd, void* buf, size_t len, int flags, __SOCKADDR_ARG src_addr,
                        socklen_t* addr_len);
ssize_t balrog_sendto(int fd, const void* buf, size_t len, int flags,
                      __CONST_SOCKADDR_ARG dest_addr, socklen_t addr_len);
ssize_t balrog_recvmsg(int fd, struct msghdr* msg, int flags);
ssize_t balrog_sendmsg(int fd, const struct msghdr* msg, int flags);

int balrog_poll(struct pollfd* fds, nfds_t nfds, int timeout);
int balrog_select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
                  struct timeval* timeout);

#ifdef __cplusplus
}
#endif

#endif /* BALROG_COMPAT_C_POSIX_NET_H */
