// A blocking call inside a C++20 coroutine would block the whole shard: it is diagnosed with
// the co_await form to use, never rewritten. A plain lambda inside a coroutine runs wherever it
// is called, so its calls are rewritten; a coroutine lambda's are diagnosed. The rewritten
// file compiles.
// RUN: %check_balrog %s blocking-calls %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <balrog/task.hpp>
#include <chrono>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
// CHECK-FIXES: #include <balrog/compat/posix_net.hpp>
// CHECK-FIXES-NEXT: #include <balrog/task.hpp>

balrog::task<int> handler(int fd) {
  char buf[8];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  // CHECK-MESSAGES: :[[@LINE-1]]:15: warning: call to 'recv' inside a C++20 coroutine would block every fiber and task of the shard; not rewritten (use the co_await form: co_await stream.async_read_some(...)) [blocking-calls]
  // CHECK-FIXES: ssize_t n = recv(fd, buf, sizeof buf, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'sleep_for' inside a C++20 coroutine would block every fiber and task of the shard; not rewritten (use the co_await form: co_await balrog::sleep_for(...)) [blocking-calls]
  auto plain = [&] { return send(fd, buf, 1, 0); };
  // CHECK-FIXES: auto plain = [&] { return balrog::compat::send(fd, buf, 1, 0); };
  co_return static_cast<int>(n + plain());
}

// A default argument is evaluated by the caller: rewritten.
balrog::task<int> with_default(int fd, ssize_t n = ::write(1, "", 0)) {
  // CHECK-FIXES: balrog::task<int> with_default(int fd, ssize_t n = balrog::compat::write(1, "", 0)) {
  co_return fd + static_cast<int>(n);
}

auto make_coroutine_lambda() {
  return [](int fd) -> balrog::task<void> {
    sleep(1);
    // CHECK-MESSAGES: :[[@LINE-1]]:5: warning: call to 'sleep' inside a C++20 coroutine would block every fiber and task of the shard; not rewritten (use the co_await form: co_await balrog::sleep_for(...)) [blocking-calls]
    (void)fd;
    co_return;
  };
}

template <typename T>
balrog::task<T> generic(int fd, T value) {
  ::usleep(10);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'usleep' inside a C++20 coroutine would block every fiber and task of the shard; not rewritten (use the co_await form: co_await balrog::sleep_for(...)) [blocking-calls]
  (void)fd;
  co_return value;
}
