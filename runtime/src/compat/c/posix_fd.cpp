// The C face of the fd twins (balrog/compat/c/posix_fd.h): each function forwards to its
// balrog::compat twin (errno, never an exception).
#include "balrog/compat/c/posix_fd.h"

#include <cstdarg>

#include "balrog/compat/posix_fd.hpp"

extern "C" {

int balrog_close(int fd) { return balrog::compat::close(fd); }
int balrog_dup2(int oldfd, int newfd) { return balrog::compat::dup2(oldfd, newfd); }
int balrog_dup3(int oldfd, int newfd, int flags) {
  return balrog::compat::dup3(oldfd, newfd, flags);
}

// The optional argument, as glibc reads it: one pointer-sized value whatever cmd is.
int balrog_fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return balrog::compat::fcntl(fd, cmd, arg);
}
int balrog_ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return balrog::compat::ioctl(fd, request, arg);
}
int balrog_setsockopt(int fd, int level, int optname, const void* optval, socklen_t optlen) {
  return balrog::compat::setsockopt(fd, level, optname, optval, optlen);
}

}  // extern "C"
