// balrog/compat/posix_fd.hpp — the POSIX calls that end an fd or change what it is, made
// visible to the runtime.
//
// balrog-gen's `posix-net` map rewrites ::close, ::dup2, ::dup3, ::fcntl, ::ioctl and
// ::setsockopt to these. None of them waits: each calls the libc function with the same
// arguments and returns exactly what it returns (errno included), in sync mode, on a fiber and
// inside coroutine code alike. On a thread that runs a balrog scheduler they first tell its
// reactor what is about to happen to the fd:
//
//  - close(fd), and dup2/dup3 onto `newfd` (which closes newfd's file first): the fibers and
//    coroutines of this thread waiting on that fd (in a compat call, wait_readable...) are
//    woken and told the fd was closed — compat calls fail with EBADF, balrog's throw io_error
//    EBADF — instead of sleeping on a file nobody will use or, worse, being handed the
//    readiness (and the bytes) of the next file that reuses the number. A blocking call on
//    another thread keeps waiting on the old file, as with libc (the kernel holds it open).
//  - fcntl(F_SETFL), ioctl(FIONBIO) and setsockopt(SO_RCVTIMEO / SO_SNDTIMEO) change what
//    the compat layer remembers of the fd (blocking mode, timeouts): it asks again.
//
// Closing an fd with ::close behind the runtime's back is still safe (the reactor notices when
// the number is next armed: a stale waiter then gets EBADF, never another file's data), but
// until then such a waiter sleeps; through these calls it wakes at once. The remembered
// blocking mode and timeouts are likewise only refreshed by these calls and by the number
// meaning a new file: change them with ::fcntl behind the runtime's back while a compat call
// may use the fd, and that call may still see the old ones.
#pragma once

#include <sys/socket.h>

namespace balrog::compat {

int close(int fd);
int dup2(int oldfd, int newfd);
int dup3(int oldfd, int newfd, int flags);
// The third argument, when the command takes one, is passed on as libc's own wrapper does.
int fcntl(int fd, int cmd, ...);
int ioctl(int fd, unsigned long request, ...);
int setsockopt(int fd, int level, int optname, const void* optval, socklen_t optlen);

}  // namespace balrog::compat
