// The process that test/gdb/balrog_fibers_test.py inspects with gdb's balrog-fibers command.
//
//   balrog_gdb_fibers_program          two shards, fibers and a task parked in known waits, then
//                                      std::abort() from the main fiber (gdb stops on SIGABRT)
//   balrog_gdb_fibers_program --bare   std::abort() before any balrog scheduler exists
//
// Before aborting it prints "id <name> <id>" for each fiber and task, so the test can check the
// ids gdb reports. The names, the functions and the line marked GDB-TEST-SLEEP-LINE are what the
// test looks for; keep them in step with it.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "balrog/runtime.hpp"
#include "balrog/sleep.hpp"
#include "balrog/sync.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"

using namespace std::chrono_literals;

// External linkage and no inlining, so the backtrace names them.
[[gnu::noinline]] void gdb_test_sleeper() {
  balrog::this_fiber::sleep_for(1h);  // GDB-TEST-SLEEP-LINE
  asm volatile("");                   // keep the call from becoming a tail call
}

// The task's chain: gdb_test_coroutine awaits gdb_test_inner_coroutine, which sleeps.
balrog::task<void> gdb_test_inner_coroutine() { co_await balrog::sleep_for(1h); }
balrog::task<void> gdb_test_coroutine() { co_await gdb_test_inner_coroutine(); }

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--bare") == 0) std::abort();

  balrog::runtime({.threads = 2}).run([] {
    balrog::mutex m;
    balrog::channel<int> ch(1);
    balrog::event never_set;
    auto sleeper = balrog::spawn([] { gdb_test_sleeper(); }, {.name = "sleeper"});
    std::unique_lock held(m);
    auto locker = balrog::spawn([&] { std::lock_guard lk(m); }, {.name = "locker"});
    auto popper = balrog::spawn_on(1, [&] { (void)ch.pop(); }, {.name = "popper"});
    auto coro = balrog::spawn_task(gdb_test_coroutine(), {.name = "coro"});
    auto unnamed = balrog::spawn([&] { never_set.wait(); });  // default name: fiber-<id>
    balrog::this_fiber::sleep_for(50ms);                      // let every one of them park

    std::printf("id sleeper %llu\nid locker %llu\nid popper %llu\nid coro %llu\nid unnamed %llu\n",
                static_cast<unsigned long long>(sleeper.id().value()),
                static_cast<unsigned long long>(locker.id().value()),
                static_cast<unsigned long long>(popper.id().value()),
                static_cast<unsigned long long>(coro.id().value()),
                static_cast<unsigned long long>(unnamed.id().value()));
    std::fflush(stdout);
    std::abort();
  });
}
