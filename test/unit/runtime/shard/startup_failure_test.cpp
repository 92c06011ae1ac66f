// K in the runtime review: a runtime whose start-up fails throws from run(); it does not end
// the process. The failures are injected by this binary's own definitions of epoll_create1,
// pthread_create and mprotect, which the runtime and libstdc++ call instead of libc's (the
// binary exports them, ENABLE_EXPORTS) and which forward to the next definition (libc's, or a
// sanitizer's interceptor) unless a test armed them. A binary of its own: nothing else runs
// with these definitions.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <system_error>

#include "balrog/errors.hpp"
#include "balrog/runtime.hpp"
#include "balrog/this_fiber.hpp"

namespace {

// 0: never; k > 0: the k-th call from now fails (once).
std::atomic<int> fail_epoll_create1_at{0};
std::atomic<int> fail_pthread_create_at{0};
// Fails the next PROT_NONE mprotect (a guarded stack's guard) made by this thread.
std::atomic<pthread_t> fail_guard_mprotect_on{};
std::atomic<bool> fail_guard_mprotect{false};

bool due(std::atomic<int>& at) {
  int k = at.load();
  while (k > 0) {
    if (at.compare_exchange_weak(k, k - 1)) return k == 1;
  }
  return false;
}

template <class F>
F next_definition(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

// Starts what lives on from the first runtime (the watchdog's thread), so that the counts
// above see only the start-up under test.
void warm_up() {
  balrog::runtime rt({.threads = 2});
  EXPECT_EQ(rt.run([] { return 1; }), 1);
}

}  // namespace

extern "C" int epoll_create1(int flags) noexcept {
  static const auto real = next_definition<int (*)(int)>("epoll_create1");
  if (due(fail_epoll_create1_at)) {
    errno = EMFILE;
    return -1;
  }
  return real(flags);
}

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*),
                              void* arg) noexcept {
  static const auto real =
      next_definition<int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*)>(
          "pthread_create");
  if (due(fail_pthread_create_at)) return EAGAIN;
  return real(thread, attr, start, arg);
}

extern "C" int mprotect(void* addr, std::size_t len, int prot) noexcept {
  static const auto real = next_definition<int (*)(void*, std::size_t, int)>("mprotect");
  if (prot == PROT_NONE && fail_guard_mprotect.load() &&
      pthread_equal(fail_guard_mprotect_on.load(), pthread_self()) != 0 &&
      fail_guard_mprotect.exchange(false)) {
    errno = ENOMEM;
    return -1;
  }
  return real(addr, len, prot);
}

TEST(StartupFailure, AShardWhoseSchedulerCannotBeBuiltMakesRunThrow) {
  warm_up();
  balrog::runtime rt({.threads = 2});
  bool ran = false;
  fail_epoll_create1_at =
      2;  // shard 0's reactor (this thread) makes the first, shard 1's the second
  try {
    rt.run([&] { ran = true; });
    ADD_FAILURE() << "run() returned";
  } catch (const balrog::io_error& e) {
    EXPECT_EQ(e.code(), std::error_code(EMFILE, std::generic_category())) << e.what();
  }
  EXPECT_EQ(fail_epoll_create1_at.load(), 0);
  EXPECT_FALSE(ran);
  EXPECT_EQ(rt.run([] { return 7; }), 7);  // nothing was left behind
}

TEST(StartupFailure, AShardThreadThatCannotBeCreatedMakesRunThrow) {
  warm_up();
  balrog::runtime rt({.threads = 3});
  bool ran = false;
  fail_pthread_create_at = 2;  // shard 1's thread starts, shard 2's does not
  try {
    rt.run([&] { ran = true; });
    ADD_FAILURE() << "run() returned";
  } catch (const balrog::io_error& e) {
    EXPECT_EQ(e.code(), std::error_code(EAGAIN, std::generic_category())) << e.what();
    EXPECT_NE(std::string(e.what()).find("shard 2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(fail_pthread_create_at.load(), 0);
  EXPECT_FALSE(ran);
  EXPECT_EQ(rt.run([] { return 7; }), 7);
}

TEST(StartupFailure, AMainFiberWhoseStackCannotBeMappedMakesRunThrow) {
  warm_up();
  balrog::runtime rt({.threads = 2});
  bool ran = false;
  fail_guard_mprotect_on = pthread_self();
  fail_guard_mprotect = true;  // the main fiber's guarded stack, made here after shard 1 runs
  try {
    rt.run([&] { ran = true; });
    ADD_FAILURE() << "run() returned";
  } catch (const balrog::io_error& e) {
    EXPECT_EQ(e.code(), std::error_code(ENOMEM, std::generic_category())) << e.what();
  }
  EXPECT_FALSE(fail_guard_mprotect.load());
  EXPECT_FALSE(ran);
  EXPECT_EQ(rt.run([] { return 7; }), 7);
}
