// The data-transfer calls of balrog/compat/posix_net.hpp: each is its libc call in sync mode,
// else one socket_transfer (transfer.hpp) with the matching attempt.
#include "balrog/compat/posix_net.hpp"

#include <sys/uio.h>

#include <cerrno>
#include <new>
#include <vector>

#include "compat/fd_facts.hpp"
#include "compat/transfer.hpp"
#include "compat/wait_for_fd.hpp"

namespace balrog::compat {

namespace {

using detail::direction;

bool sync_mode() noexcept { return detail::current_place() == detail::place::thread; }

std::size_t iov_total(const msghdr& msg) noexcept {
  std::size_t total = 0;
  for (std::size_t i = 0; i < msg.msg_iovlen; ++i) total += msg.msg_iov[i].iov_len;
  return total;
}

// The rest of a scatter/gather transfer after `skip` bytes: no address, no ancillary data
// (both went with the first part), the iovecs from byte `skip` on (kept in `storage`).
msghdr rest_of(const msghdr& msg, std::size_t skip, std::vector<iovec>& storage) {
  storage.clear();
  for (std::size_t i = 0; i < msg.msg_iovlen; ++i) {
    iovec v = msg.msg_iov[i];
    if (skip >= v.iov_len) {
      skip -= v.iov_len;
      continue;
    }
    v.iov_base = static_cast<char*>(v.iov_base) + skip;
    v.iov_len -= skip;
    skip = 0;
    storage.push_back(v);
  }
  msghdr rest{};
  rest.msg_iov = storage.data();
  rest.msg_iovlen = storage.size();
  return rest;
}

// One attempt of recvmsg/sendmsg at the part after `done` bytes.
template <class Msg, class Call>
ssize_t message_attempt(Msg* msg, std::size_t done, std::vector<iovec>& storage, Call call) {
  if (done == 0) return call(msg);
  try {
    msghdr rest = rest_of(*msg, done, storage);
    return call(&rest);
  } catch (const std::bad_alloc&) {
    return detail::fail(ENOMEM);
  }
}

ssize_t receive(int fd, void* buf, size_t len, int flags) {
  return detail::socket_transfer(fd, direction::in, flags, len, [&](std::size_t done, int f) {
    return ::recv(fd, static_cast<char*>(buf) + done, len - done, f);
  });
}

ssize_t transmit(int fd, const void* buf, size_t len, int flags) {
  return detail::socket_transfer(fd, direction::out, flags, len, [&](std::size_t done, int f) {
    return ::send(fd, static_cast<const char*>(buf) + done, len - done, f);
  });
}

}  // namespace

// read/write on a socket are recv/send with no flags (for a non-empty buffer the kernel makes
// them the same call); the first attempt tells whether the fd is a socket (ENOTSOCK).
ssize_t read(int fd, void* buf, size_t count) {
  if (sync_mode() || count == 0) return ::read(fd, buf, count);
  const detail::errno_on_success keep;
  const ssize_t n = receive(fd, buf, count, 0);
  if (n < 0 && errno == ENOTSOCK) return keep(detail::read_not_socket(fd, buf, count));
  return keep(n);
}

ssize_t write(int fd, const void* buf, size_t count) {
  if (sync_mode() || count == 0) return ::write(fd, buf, count);
  const detail::errno_on_success keep;
  const ssize_t n = transmit(fd, buf, count, 0);
  if (n < 0 && errno == ENOTSOCK) return keep(detail::write_not_socket(fd, buf, count));
  return keep(n);
}

ssize_t recv(int fd, void* buf, size_t len, int flags) {
  if (sync_mode()) return ::recv(fd, buf, len, flags);
  const detail::errno_on_success keep;
  return keep(receive(fd, buf, len, flags));
}

ssize_t send(int fd, const void* buf, size_t len, int flags) {
  if (sync_mode()) return ::send(fd, buf, len, flags);
  const detail::errno_on_success keep;
  return keep(transmit(fd, buf, len, flags));
}

ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* src_addr,
                 socklen_t* addr_len) {
  if (sync_mode()) return ::recvfrom(fd, buf, len, flags, src_addr, addr_len);
  const detail::errno_on_success keep;
  return keep(detail::socket_transfer(fd, direction::in, flags, len, [&](std::size_t done, int f) {
    if (done == 0) return ::recvfrom(fd, buf, len, f, src_addr, addr_len);
    return ::recvfrom(fd, static_cast<char*>(buf) + done, len - done, f, nullptr, nullptr);
  }));
}

ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* dest_addr,
               socklen_t addr_len) {
  if (sync_mode()) return ::sendto(fd, buf, len, flags, dest_addr, addr_len);
  const detail::errno_on_success keep;
  return keep(detail::socket_transfer(fd, direction::out, flags, len, [&](std::size_t done, int f) {
    if (done == 0) return ::sendto(fd, buf, len, f, dest_addr, addr_len);
    return ::sendto(fd, static_cast<const char*>(buf) + done, len - done, f, nullptr, 0);
  }));
}

ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  if (sync_mode() || msg == nullptr) return ::recvmsg(fd, msg, flags);
  const detail::errno_on_success keep;
  // Ancillary data cannot be merged across reads: with a control buffer, one read only.
  const int blocking_flags = msg->msg_controllen > 0 ? flags & ~MSG_WAITALL : flags;
  std::vector<iovec> storage;
  return keep(detail::socket_transfer(
      fd, direction::in, blocking_flags, iov_total(*msg), [&](std::size_t done, int f) {
        return message_attempt(msg, done, storage, [&](msghdr* m) { return ::recvmsg(fd, m, f); });
      }));
}

ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  if (sync_mode() || msg == nullptr) return ::sendmsg(fd, msg, flags);
  const detail::errno_on_success keep;
  std::vector<iovec> storage;
  return keep(detail::socket_transfer(
      fd, direction::out, flags, iov_total(*msg), [&](std::size_t done, int f) {
        return message_attempt(msg, done, storage,
                               [&](const msghdr* m) { return ::sendmsg(fd, m, f); });
      }));
}

}  // namespace balrog::compat
