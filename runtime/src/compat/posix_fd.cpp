// The calls of balrog/compat/posix_fd.hpp: libc's, after telling this thread's reactor.
#include "balrog/compat/posix_fd.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdarg>

#include "io/fd_waits.hpp"

namespace balrog::compat {

namespace {

using balrog::detail::current_reactor;

void closing(int fd) noexcept {
  if (auto* r = current_reactor()) r->closing(fd);
}

void changed(int fd) noexcept {
  if (auto* r = current_reactor()) r->forget_facts(fd);
}

bool is_timeout_option(int level, int optname) noexcept {
  if (level != SOL_SOCKET) return false;
  if (optname == SO_RCVTIMEO || optname == SO_SNDTIMEO) return true;
#if defined(SO_RCVTIMEO_NEW) && defined(SO_SNDTIMEO_NEW)
  if (optname == SO_RCVTIMEO_NEW || optname == SO_SNDTIMEO_NEW) return true;
#endif
  return false;
}

}  // namespace

int close(int fd) {
  closing(fd);
  return ::close(fd);
}

int dup2(int oldfd, int newfd) {
  if (oldfd != newfd) closing(newfd);  // dup2(fd, fd) changes nothing
  return ::dup2(oldfd, newfd);
}

int dup3(int oldfd, int newfd, int flags) {
  if (oldfd != newfd) closing(newfd);  // dup3(fd, fd, ...) fails with EINVAL
  return ::dup3(oldfd, newfd, flags);
}

int fcntl(int fd, int cmd, ...) {
  // glibc's own fcntl takes the optional argument as a pointer-sized value whatever cmd is.
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  const int r = ::fcntl(fd, cmd, arg);
  if (cmd == F_SETFL) changed(fd);
  return r;
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  const int r = ::ioctl(fd, request, arg);
  if (request == FIONBIO) changed(fd);
  return r;
}

int setsockopt(int fd, int level, int optname, const void* optval, socklen_t optlen) {
  const int r = ::setsockopt(fd, level, optname, optval, optlen);
  if (is_timeout_option(level, optname)) changed(fd);
  return r;
}

}  // namespace balrog::compat
