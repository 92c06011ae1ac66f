#include "net/socket_ops.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include <cerrno>

namespace balrog::net::detail {

namespace {

bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK; }

// The data calls as plain system calls. glibc's recv, send and recvmsg are cancellation
// points: in a multi-threaded process (the watchdog thread makes every balrog process one)
// each brackets the call with two atomic compare-and-swaps on the thread's cancellation
// state, two locked instructions per call on the hottest path of the runtime. The socket is
// non-blocking, so the call never waits and a pthread_cancel could not have struck it anyway.
// Under the sanitizers the libc functions stay: their interceptors check the buffers (ASan)
// and model the fd's synchronisation (TSan).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BALROG_LIBC_DATA_CALLS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define BALROG_LIBC_DATA_CALLS 1
#endif
#endif
#ifdef BALROG_LIBC_DATA_CALLS
ssize_t recv_call(int fd, void* buf, std::size_t len) noexcept { return ::recv(fd, buf, len, 0); }
ssize_t recvmsg_call(int fd, msghdr* m) noexcept { return ::recvmsg(fd, m, 0); }
ssize_t send_call(int fd, const void* buf, std::size_t len) noexcept {
  return ::send(fd, buf, len, MSG_NOSIGNAL);
}
#else
ssize_t recv_call(int fd, void* buf, std::size_t len) noexcept {
  return ::syscall(SYS_recvfrom, fd, buf, len, 0, nullptr, nullptr);
}
ssize_t recvmsg_call(int fd, msghdr* m) noexcept { return ::syscall(SYS_recvmsg, fd, m, 0); }
ssize_t send_call(int fd, const void* buf, std::size_t len) noexcept {
  return ::syscall(SYS_sendto, fd, buf, len, MSG_NOSIGNAL, nullptr, 0);
}
#endif

// accept(2): "Linux accept() passes already-pending network errors on the new socket as an
// error code from accept()... For reliability, Linux applications should treat ENETDOWN,
// EPROTO, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP, and ENETUNREACH like
// EAGAIN by retrying." ECONNABORTED is a connection reset while it sat in the queue.
bool dead_queued_connection(int err) noexcept {
  switch (err) {
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
      return true;
    default:
      return false;
  }
}

}  // namespace

attempt<int> open_stream_socket(int family) noexcept {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return attempt<int>::failed(errno);
  return attempt<int>::done(fd);
}

attempt<bool> start_connect(int fd, const endpoint& to) noexcept {
  if (::connect(fd, to.data(), to.size()) == 0) return attempt<bool>::done(true);
  const int err = errno;
  // EINTR: the connection goes on asynchronously (POSIX), exactly like EINPROGRESS.
  if (err == EINPROGRESS || err == EINTR) return attempt<bool>::want_write();
  return attempt<bool>::failed(err);
}

attempt<bool> finish_connect(int fd) noexcept {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return attempt<bool>::failed(errno);
  if (err != 0) return attempt<bool>::failed(err);
  // SO_ERROR is 0 both when connected and while still connecting; only getpeername tells.
  sockaddr_storage peer{};
  socklen_t peer_len = sizeof peer;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) {
    return attempt<bool>::done(true);
  }
  if (errno == ENOTCONN) return attempt<bool>::want_write();
  return attempt<bool>::failed(errno);
}

attempt<int> accept_once(int listen_fd) noexcept {
  for (;;) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return attempt<int>::done(fd);
    const int err = errno;
    if (would_block(err)) return attempt<int>::want_read();
    if (err != EINTR && !dead_queued_connection(err)) return attempt<int>::failed(err);
  }
}

attempt<std::size_t> receive_once(int fd, std::span<std::byte> into) noexcept {
  if (into.empty()) return attempt<std::size_t>::done(0);
  for (;;) {
    const ssize_t n = recv_call(fd, into.data(), into.size());
    if (n >= 0) return attempt<std::size_t>::done(static_cast<std::size_t>(n));
    const int err = errno;
    if (would_block(err)) return attempt<std::size_t>::want_read();
    if (err != EINTR) return attempt<std::size_t>::failed(err);
  }
}

attempt<std::size_t> receive_once(int fd, std::span<std::byte> into, int& left) noexcept {
  left = -1;
  if (into.empty()) return attempt<std::size_t>::done(0);
  iovec part{into.data(), into.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr m{};
  m.msg_iov = &part;
  m.msg_iovlen = 1;
  for (;;) {
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    const ssize_t n = recvmsg_call(fd, &m);
    if (n >= 0) {
      for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_TCP && c->cmsg_type == TCP_CM_INQ &&
            c->cmsg_len >= CMSG_LEN(sizeof(int))) {
          std::memcpy(&left, CMSG_DATA(c), sizeof left);
        }
      }
      return attempt<std::size_t>::done(static_cast<std::size_t>(n));
    }
    const int err = errno;
    if (would_block(err)) return attempt<std::size_t>::want_read();
    if (err != EINTR) return attempt<std::size_t>::failed(err);
  }
}

void count_queued_bytes(int fd) noexcept {
  const int on = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_INQ, &on, sizeof on);
}

attempt<std::size_t> send_once(int fd, std::span<const std::byte> from) noexcept {
  if (from.empty()) return attempt<std::size_t>::done(0);
  for (;;) {
    const ssize_t n = send_call(fd, from.data(), from.size());
    if (n >= 0) return attempt<std::size_t>::done(static_cast<std::size_t>(n));
    const int err = errno;
    if (would_block(err)) return attempt<std::size_t>::want_write();
    if (err != EINTR) return attempt<std::size_t>::failed(err);
  }
}

}  // namespace balrog::net::detail
