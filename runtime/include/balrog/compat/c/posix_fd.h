/* balrog/compat/c/posix_fd.h — the C face of the fd calls the runtime must see.
 *
 * The functions of balrog/compat/posix_fd.hpp with C linkage, named balrog_<libc name>
 * (balrog_close, balrog_fcntl...), with libc's exact signatures and semantics. They never
 * wait: they end an fd or change what it is, so that the fibers waiting on it are woken
 * instead of left to a number another file may reuse. balrog-gen rewrites calls in C files
 * to them (the posix-net map's blocks: false rows). posix_fd.hpp is the manual.
 *
 * The program links balrog::runtime (a C++ library). Usable from C99 and later, and from C++.
 */
#ifndef BALROG_COMPAT_C_POSIX_FD_H
#define BALROG_COMPAT_C_POSIX_FD_H

#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

int balrog_close(int fd);
int balrog_dup2(int oldfd, int newfd);
int balrog_dup3(int oldfd, int newfd, int flags);
/* The optional argument is read as one pointer-sized value, as glibc's fcntl and ioctl do. */
int balrog_fcntl(int fd, int cmd, ...);
int balrog_ioctl(int fd, unsigned long request, ...);
int balrog_setsockopt(int fd, int level, int optname, const void* optval, socklen_t optlen);

#ifdef __cplusplus
}
#endif

#endif /* BALROG_COMPAT_C_POSIX_FD_H */
