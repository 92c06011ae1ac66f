// The posix-offload map: every entry becomes balrog::compat::offloaded<&::f>(args) (offload
// entries: the call runs on the offload pool while the fiber waits), with the include; the
// rest of unistd.h / sys/wait.h stays. The rewritten file compiles against the runtime. In
// coroutines they are reported.
// RUN: printf 'maps: [posix-offload]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <coroutine>
#include <cstdio>
#include <cstdlib>
// CHECK-FIXES: #include <balrog/compat/offloaded.hpp>
// CHECK-FIXES-NEXT: #include <fcntl.h>

int flush_all(int fd) {
  int rc = fsync(fd);
  // CHECK-FIXES: int rc = balrog::compat::offloaded<&::fsync>(fd);
  rc |= ::fdatasync(fd);
  // CHECK-FIXES: rc |= balrog::compat::offloaded<&::fdatasync>(fd);
  rc |= syncfs(fd);
  // CHECK-FIXES: rc |= balrog::compat::offloaded<&::syncfs>(fd);
  sync();
  // CHECK-FIXES: balrog::compat::offloaded<&::sync>();
  return rc;
}

int locks(int fd) {
  int rc = flock(fd, LOCK_EX);
  // CHECK-FIXES: int rc = balrog::compat::offloaded<&::flock>(fd, LOCK_EX);
  rc |= lockf(fd, F_LOCK, 0);
  // CHECK-FIXES: rc |= balrog::compat::offloaded<&::lockf>(fd, F_LOCK, 0);
  return rc;
}

int children(pid_t pid) {
  int status = 0;
  pid_t p = waitpid(pid, &status, 0);
  // CHECK-FIXES: pid_t p = balrog::compat::offloaded<&::waitpid>(pid, &status, 0);
  p = wait(&status);
  // CHECK-FIXES: p = balrog::compat::offloaded<&::wait>(&status);
  siginfo_t info{};
  (void)waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED);
  // CHECK-FIXES: (void)balrog::compat::offloaded<&::waitid>(P_PID, static_cast<id_t>(pid), &info, WEXITED);
  const int rc = std::system("true");
  // CHECK-FIXES: const int rc = balrog::compat::offloaded<&::system>("true");
  FILE* out = popen("echo hi", "r");
  // CHECK-FIXES: FILE* out = balrog::compat::offloaded<&::popen>("echo hi", "r");
  (void)pclose(out);
  // CHECK-FIXES: (void)balrog::compat::offloaded<&::pclose>(out);
  (void)getpid();
  // CHECK-FIXES: (void)getpid();
  return rc + p;
}

struct task {
  struct promise_type {
    task get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() {}
  };
};

task in_coroutine(int fd) {
  fsync(fd);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'fsync' inside a C++20 coroutine would block every fiber and task of the shard; not rewritten (use the co_await form: co_await a balrog::task that calls balrog::offload(...)) [blocking-calls]
  co_return;
}
