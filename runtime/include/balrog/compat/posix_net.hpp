// balrog/compat/posix_net.hpp — the POSIX socket calls, with their own signatures and semantics,
// made safe to call on a fiber.
//
// balrog-gen's `posix-net` map rewrites calls of ::connect, ::accept, ::read, ::recv, ::poll...
// in existing synchronous code to these functions. Each has exactly the libc signature and keeps
// libc's contract: the return value, errno, partial reads and writes, SO_RCVTIMEO/SO_SNDTIMEO,
// SIGPIPE. They differ only in what waits:
//
//  - Plain thread (no balrog scheduler on this thread: sync mode): the libc function is called
//    directly. Same behaviour as today, bit for bit.
//  - On a fiber, fd in non-blocking mode (O_NONBLOCK on the open file, or MSG_DONTWAIT): the
//    libc function is called directly; the caller expects EAGAIN and gets it.
//  - On a fiber, fd in blocking mode: the call is emulated without blocking the thread. A
//    non-blocking attempt is made; when it would block, the fiber waits on the shard's reactor
//    (other fibers keep running) and tries again:
//      * sockets (recv, send, recvfrom, sendto, recvmsg, sendmsg, and read/write on a socket):
//        attempts pass MSG_DONTWAIT, so they never block, whoever else uses the socket;
//      * other fds (pipes, FIFOs, ttys, character devices) for read/write: the fiber waits until
//        poll(2) reports the fd ready, then makes the call. A reader that becomes ready also
//        reads what is there; a writer writes in chunks of at most PIPE_BUF bytes, which a
//        writable pipe always accepts without blocking. If another thread or process drains
//        (or fills) the fd between the readiness check and the call, that call blocks the
//        thread, as it would have without balrog. Regular files and directories are always
//        ready: their reads and writes go straight to libc (use balrog::offload for slow disks);
//      * accept/accept4 on a blocking listener: wait until readable, then accept (the same
//        caveat about other threads or processes accepting from the same listener applies);
//      * connect on a blocking socket: O_NONBLOCK is set for the connect(2) call only, the
//        fiber waits until writable, and the outcome is read from SO_ERROR: 0, or -1 with the
//        errno a blocking connect gives (ECONNREFUSED, ETIMEDOUT, ENETUNREACH...). The socket's
//        flags are restored right after the connect(2) call. A Unix-domain listener with a full
//        backlog (EAGAIN for a non-blocking connect) is retried every few milliseconds, as a
//        blocking connect would wait for room. A connect on a socket whose earlier connect is
//        still in progress waits for it too (a blocking connect does; EALREADY is
//        non-blocking only).
//    Blocking semantics are kept: a read or recv returns what is available (partial reads);
//    recv/recvfrom/recvmsg with MSG_WAITALL on a stream socket wait for the whole request; a
//    write or send on a stream socket sends everything. When an error, end of stream or timeout
//    comes after part of the transfer, the call returns the count and leaves the error pending
//    for the next call, as the kernel does. SO_RCVTIMEO and SO_SNDTIMEO are honoured (the
//    timeout covers the whole call): -1/EAGAIN when nothing was transferred, else the count;
//    a timed-out connect fails with EINPROGRESS (Linux's blocking connect does), an accept
//    with EAGAIN. Details: read/write of 0 bytes go straight to libc (they never wait on
//    sockets or pipes); recvmsg with MSG_WAITALL and a control buffer (msg_controllen > 0)
//    returns after its first read, since ancillary data cannot be merged across reads;
//    MSG_PEEK|MSG_WAITALL peeks again every millisecond until the whole request is there.
//  - poll/select on a fiber: first a zero-timeout call; if nothing is ready and the timeout is
//    not zero, every fd is registered with the reactor, the fiber waits (at most the timeout),
//    and a zero-timeout call computes the result; repeat until something is ready or the
//    timeout passed. Results are libc's own (revents, POLLNVAL for a bad fd, the fd_sets,
//    EBADF, EINVAL, select writing the time left back to *timeout as Linux does). Negative fds
//    in poll are ignored. Interests the reactor cannot watch precisely — POLLPRI and select's
//    exceptfds, POLLRDBAND, POLLWRBAND, POLLRDHUP without POLLIN, events == 0 — are re-checked
//    every 10 ms while the fiber waits.
//
// Signals. SIGPIPE behaves as in libc: write/send on a broken stream raises it unless it is
// ignored or MSG_NOSIGNAL is passed, and the call then fails with EPIPE. On a fiber, signals
// delivered to the thread never interrupt a compat call: EINTR is not produced (a wait is
// resumed, as with SA_RESTART, also for poll and select, which Linux never restarts).
//
// Deviations on a fiber (errno values libc does not produce for these calls), all documented
// here and nowhere else:
//  - ECANCELED: the fiber was cancelled (balrog::fiber::cancel) while the call had to wait,
//    or before it started waiting. Cancellation is sticky, so reporting EINTR would make the
//    usual `while (r == -1 && errno == EINTR)` loops spin forever; ECANCELED ends them. Calls
//    that need not wait (data already there) still succeed. A cancellation shield
//    (this_fiber::cancellation_shield) suspends this, as everywhere in balrog.
//  - ETIMEDOUT: an enclosing balrog::deadline_scope passed while the call waited. (A connect
//    can also fail with ETIMEDOUT the normal way: the TCP handshake timed out.)
//  - EDEADLK: the call was made inside C++20 coroutine code (a balrog::task, or a chain driven
//    by balrog::await) and would have had to wait: waiting there would stall the whole shard.
//    Use the co_await forms (balrog-gen reports these call sites). Calls that need not wait
//    succeed there too.
//  After a partial transfer these are reported the kernel's way: the call returns the count.
//  A connect that fails with one of them leaves the connection attempt going on in the
//  background, like a blocking connect interrupted by a signal: close the socket.
//  Before returning ECANCELED or ETIMEDOUT, the fiber yields once, so that code retrying on
//  any error slows down to a yield loop instead of stalling the shard.
//  In sync mode the calls are libc's: a deadline_scope does not bound them (and there is no
//  cancellation off-fiber).
//
// None of these functions throws (the compat API keeps the C conventions). Like their libc
// counterparts they are thread-cancellation points and are not declared noexcept.
#pragma once

#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

namespace balrog::compat {

int connect(int fd, const sockaddr* addr, socklen_t len);
int accept(int fd, sockaddr* addr, socklen_t* addr_len);
int accept4(int fd, sockaddr* addr, socklen_t* addr_len, int flags);

ssize_t read(int fd, void* buf, size_t count);
ssize_t write(int fd, const void* buf, size_t count);

ssize_t recv(int fd, void* buf, size_t len, int flags);
ssize_t send(int fd, const void* buf, size_t len, int flags);
ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* src_addr, socklen_t* addr_len);
ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* dest_addr,
               socklen_t addr_len);
ssize_t recvmsg(int fd, msghdr* msg, int flags);
ssize_t sendmsg(int fd, const msghdr* msg, int flags);

int poll(pollfd* fds, nfds_t nfds, int timeout);
int select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout);

}  // namespace balrog::compat
