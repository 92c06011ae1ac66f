// Calls in lambdas (plain, generic, immediately invoked, nested) are rewritten like any
// other. The rewritten file compiles.
// RUN: %check_balrog %s blocking-calls %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <chrono>
#include <sys/socket.h>
#include <thread>
// CHECK-FIXES: #include <balrog/compat/posix_net.hpp>
// CHECK-FIXES-NEXT: #include <balrog/compat/this_thread.hpp>
// CHECK-FIXES-NEXT: #include <chrono>

int use(int fd) {
  auto get = [fd](char* buf) { return recv(fd, buf, 1, 0); };
  // CHECK-FIXES: auto get = [fd](char* buf) { return balrog::compat::recv(fd, buf, 1, 0); };
  auto put = [&](auto* buf, auto n) { return ::send(fd, buf, n, 0); };
  // CHECK-FIXES: auto put = [&](auto* buf, auto n) { return balrog::compat::send(fd, buf, n, 0); };
  [] { std::this_thread::yield(); }();
  // CHECK-FIXES: [] { balrog::compat::this_thread::yield(); }();
  auto outer = [&] {
    return [&] { return send(fd, "x", 1, 0); }();
    // CHECK-FIXES: return [&] { return balrog::compat::send(fd, "x", 1, 0); }();
  };
  char c;
  return static_cast<int>(get(&c) + put(&c, 1UL) + outer());
}
