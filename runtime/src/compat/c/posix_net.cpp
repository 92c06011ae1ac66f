// The C face of the POSIX socket twins (balrog/compat/c/posix_net.h): each function forwards
// to its balrog::compat twin, which reports everything through errno and never throws, so
// nothing crosses the C boundary.
#include "balrog/compat/c/posix_net.h"

#include "balrog/compat/posix_net.hpp"

extern "C" {

int balrog_connect(int fd, const sockaddr* addr, socklen_t len) {
  return balrog::compat::connect(fd, addr, len);
}
int balrog_accept(int fd, sockaddr* addr, socklen_t* addr_len) {
  return balrog::compat::accept(fd, addr, addr_len);
}
int balrog_accept4(int fd, sockaddr* addr, socklen_t* addr_len, int flags) {
  return balrog::compat::accept4(fd, addr, addr_len, flags);
}

ssize_t balrog_read(int fd, void* buf, size_t count) {
  return balrog::compat::read(fd, buf, count);
}
ssize_t balrog_write(int fd, const void* buf, size_t count) {
  return balrog::compat::write(fd, buf, count);
}

ssize_t balrog_recv(int fd, void* buf, size_t len, int flags) {
  return balrog::compat::recv(fd, buf, len, flags);
}
ssize_t balrog_send(int fd, const void* buf, size_t len, int flags) {
  return balrog::compat::send(fd, buf, len, flags);
}
ssize_t balrog_recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* src_addr,
                        socklen_t* addr_len) {
  return balrog::compat::recvfrom(fd, buf, len, flags, src_addr, addr_len);
}
ssize_t balrog_sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* dest_addr,
                      socklen_t addr_len) {
  return balrog::compat::sendto(fd, buf, len, flags, dest_addr, addr_len);
}
ssize_t balrog_recvmsg(int fd, msghdr* msg, int flags) {
  return balrog::compat::recvmsg(fd, msg, flags);
}
ssize_t balrog_sendmsg(int fd, const msghdr* msg, int flags) {
  return balrog::compat::sendmsg(fd, msg, flags);
}

int balrog_poll(pollfd* fds, nfds_t nfds, int timeout) {
  return balrog::compat::poll(fds, nfds, timeout);
}
int balrog_select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
                  timeval* timeout) {
  return balrog::compat::select(nfds, readfds, writefds, exceptfds, timeout);
}

}  // extern "C"
