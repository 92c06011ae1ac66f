// Templates: a call that does not depend on the template arguments is rewritten once, in the
// template as written (not per instantiation). A qualified call with dependent arguments is
// rewritten too: qualified lookup finds only the mapped function. An unqualified call with
// dependent arguments may find another function through argument-dependent lookup in some
// instantiation, so it is diagnosed and left alone. The rewritten file compiles.
// RUN: %check_balrog %s blocking-calls %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <chrono>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
// CHECK-FIXES: #include <balrog/compat/posix_net.hpp>
// CHECK-FIXES-NEXT: #include <balrog/compat/posix_time.hpp>
// CHECK-FIXES-NEXT: #include <balrog/compat/this_thread.hpp>
// CHECK-FIXES-NEXT: #include <chrono>

template <typename T>
T nap_then(T value) {
  sleep(1);
  // CHECK-FIXES: balrog::compat::sleep(1);
  return value;
}

template <typename Buffer>
ssize_t fill(int fd, Buffer& buffer) {
  return ::recv(fd, buffer.data(), buffer.size(), 0);
  // CHECK-FIXES: return balrog::compat::recv(fd, buffer.data(), buffer.size(), 0);
}

template <typename Duration>
void wait(Duration d) {
  std::this_thread::sleep_for(d);
  // CHECK-FIXES: balrog::compat::this_thread::sleep_for(d);
}

template <typename Fd>
ssize_t unqualified_dependent(Fd fd, char* buf) {
  return read(fd, buf, 1);
  // CHECK-MESSAGES: :[[@LINE-1]]:10: warning: call to 'read' depends on template arguments and may resolve to another function in some instantiations; not rewritten (call 'balrog::compat::read' explicitly if it is the blocking one) [blocking-calls]
  // CHECK-FIXES: return read(fd, buf, 1);
}

template <typename T>
struct reader {
  int fd;
  ssize_t get(T* out) { return ::read(fd, out, sizeof(T)); }
  // CHECK-FIXES: ssize_t get(T* out) { return balrog::compat::read(fd, out, sizeof(T)); }
};

struct bytes {
  char b[4];
  char* data() { return b; }
  std::size_t size() const { return sizeof b; }
};

int instantiate(int fd) {
  bytes b;
  char c;
  reader<int> r{fd};
  int i = 0;
  wait(std::chrono::milliseconds(1));
  return nap_then(1) + static_cast<int>(fill(fd, b) + unqualified_dependent(fd, &c) + r.get(&i));
}
