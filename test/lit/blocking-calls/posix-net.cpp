// Every entry of the posix-net map is rewritten to its balrog::compat twin, and the rewritten
// file compiles against the runtime's compat layer (same signatures).
// RUN: %check_balrog %s blocking-calls %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
// CHECK-FIXES: #include <balrog/compat/posix_net.hpp>
// CHECK-FIXES-NEXT: #include <poll.h>

void all(int fd, sockaddr* addr, socklen_t* len, msghdr* msg, pollfd* fds, fd_set* set,
         timeval* tv) {
  char buf[16];
  connect(fd, addr, *len);
  // CHECK-FIXES: balrog::compat::connect(fd, addr, *len);
  accept(fd, addr, len);
  // CHECK-FIXES: balrog::compat::accept(fd, addr, len);
  accept4(fd, addr, len, SOCK_CLOEXEC);
  // CHECK-FIXES: balrog::compat::accept4(fd, addr, len, SOCK_CLOEXEC);
  read(fd, buf, sizeof buf);
  // CHECK-FIXES: balrog::compat::read(fd, buf, sizeof buf);
  write(fd, buf, sizeof buf);
  // CHECK-FIXES: balrog::compat::write(fd, buf, sizeof buf);
  recv(fd, buf, sizeof buf, 0);
  // CHECK-FIXES: balrog::compat::recv(fd, buf, sizeof buf, 0);
  send(fd, buf, sizeof buf, MSG_NOSIGNAL);
  // CHECK-FIXES: balrog::compat::send(fd, buf, sizeof buf, MSG_NOSIGNAL);
  recvfrom(fd, buf, sizeof buf, 0, addr, len);
  // CHECK-FIXES: balrog::compat::recvfrom(fd, buf, sizeof buf, 0, addr, len);
  sendto(fd, buf, sizeof buf, 0, addr, *len);
  // CHECK-FIXES: balrog::compat::sendto(fd, buf, sizeof buf, 0, addr, *len);
  recvmsg(fd, msg, 0);
  // CHECK-FIXES: balrog::compat::recvmsg(fd, msg, 0);
  sendmsg(fd, msg, 0);
  // CHECK-FIXES: balrog::compat::sendmsg(fd, msg, 0);
  poll(fds, 1, -1);
  // CHECK-FIXES: balrog::compat::poll(fds, 1, -1);
  select(fd + 1, set, nullptr, nullptr, tv);
  // CHECK-FIXES: balrog::compat::select(fd + 1, set, nullptr, nullptr, tv);
}

// Qualified with the global scope: the qualifier is part of the name that is replaced.
ssize_t qualified(int fd, char* buf) { return ::recv(fd, buf, 1, 0) + ::write(fd, buf, 1); }
// CHECK-FIXES: ssize_t qualified(int fd, char* buf) { return balrog::compat::recv(fd, buf, 1, 0) + balrog::compat::write(fd, buf, 1); }

// Calls nested in the arguments of other calls, and in parentheses.
ssize_t nested(int fd, char* buf) { return (send)(fd, buf, static_cast<size_t>(read(fd, buf, 1)), 0); }
// CHECK-FIXES: ssize_t nested(int fd, char* buf) { return (balrog::compat::send)(fd, buf, static_cast<size_t>(balrog::compat::read(fd, buf, 1)), 0); }
