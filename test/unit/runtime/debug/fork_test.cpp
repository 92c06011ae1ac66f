// fork() while another thread holds one of the runtime's locks (the watchdog's monitor thread
// takes some every few milliseconds): the child has only the forking thread, so its first
// balrog calls must not wait for a lock that nothing in the child will release. Each child
// runs under a timer: a child that hangs prints its stack and dies of SIGALRM, failing its test,
// never hanging it.
#include <execinfo.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/debug.hpp"
#include "balrog/runtime.hpp"
#include "balrog/sleep.hpp"
#include "balrog/sync.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"
#include "debug/watchdog.hpp"

using namespace std::chrono_literals;

namespace {

balrog::task<int> plus_one(int v) {
  co_await balrog::sleep_for(1ms);
  co_return v + 1;
}

// A child that hangs prints where its forking thread is before SIGALRM ends it (one such hang
// was seen once, under ASan on a loaded machine, and did not come back in 40 runs).
void on_child_timeout(int /*sig*/) {
  void* pcs[64];
  const int n = ::backtrace(pcs, 64);
  static constexpr char what[] = "the child hung; its forking thread is here:\n";
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, what, sizeof what - 1);
  ::backtrace_symbols_fd(pcs, n, STDERR_FILENO);
  ::signal(SIGALRM, SIG_DFL);
  ::raise(SIGALRM);
}

// Runs `child` in a forked child that gets `limit` seconds; returns the child's wait status.
int status_of_child(const std::function<int()>& child, unsigned limit = 3) {
  void* warm[1];
  (void)::backtrace(warm, 1);  // loads the unwinder now, not in a child's signal handler
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The timer's signal goes to this thread, not to one the child started since.
    ::signal(SIGALRM, on_child_timeout);
    sigevent ev{};
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGALRM;
    ev._sigev_un._tid = ::gettid();  // sigev_notify_thread_id, which glibc 2.36 does not name
    timer_t timer{};
    itimerspec when{};
    when.it_value.tv_sec = static_cast<time_t>(limit);
    if (::timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0 ||
        ::timer_settime(timer, 0, &when, nullptr) != 0) {
      ::alarm(limit);
    }
    ::_exit(child());
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// What a forked child's first balrog calls take: a sync-mode scheduler (the registry, the
// watchdog), new watchdog settings, a runtime that lists its fibers with symbolised backtraces.
int first_balrog_calls() {
  if (balrog::block_on(plus_one(1)) != 2) return 2;
  balrog::set_watchdog({.threshold = 100ms, .print = false});
  bool listed = false;
  balrog::run([&] {
    auto sleeper = balrog::spawn([] { balrog::this_fiber::sleep_for(1h); }, {.name = "sleeper"});
    balrog::this_fiber::sleep_for(5ms);
    for (const auto& f : balrog::list_fibers()) {
      if (f.name == "sleeper" && !f.backtrace.empty()) listed = true;
    }
    sleeper.cancel();
  });
  return listed ? 0 : 3;
}

// A thread with a small stack, for threads that are alive at a fork. In the child, glibc hands
// the stacks of the parent's threads to new threads of the same size, and TSan (with
// die_after_fork=0) dies when a child's thread (its watchdog's) gets the pthread_t of a
// thread that was alive at the fork ("dup thread with used id"): a limit of GCC 12's TSan,
// not of the code under test.
class small_stack_thread {
 public:
  explicit small_stack_thread(std::function<void()> fn) : fn_(std::move(fn)) {
    pthread_attr_t attr;
    ::pthread_attr_init(&attr);
    ::pthread_attr_setstacksize(&attr, std::size_t{1} << 20);
    started_ = ::pthread_create(&id_, &attr, &small_stack_thread::run, this) == 0;
    ::pthread_attr_destroy(&attr);
  }
  small_stack_thread(const small_stack_thread&) = delete;
  small_stack_thread& operator=(const small_stack_thread&) = delete;
  ~small_stack_thread() { join(); }
  void join() {
    if (started_) ::pthread_join(id_, nullptr);
    started_ = false;
  }
  [[nodiscard]] bool started() const { return started_; }

 private:
  static void* run(void* self) {
    static_cast<small_stack_thread*>(self)->fn_();
    return nullptr;
  }
  std::function<void()> fn_;
  pthread_t id_{};
  bool started_ = false;
};

}  // namespace

TEST(ForkSafety, AChildForkedWhileAnotherThreadHoldsARuntimeLockRuns) {
  EXPECT_EQ(balrog::block_on(plus_one(0)), 1);  // the parent has a scheduler and a watchdog
  const auto locks = balrog::detail::watchdog::fork_guarded_locks_for_testing();
  ASSERT_FALSE(locks.empty());
  for (std::size_t i = 0; i < locks.size(); ++i) {
    // The other thread holds the lock when fork() is called, as the monitor thread may.
    std::atomic<bool> held{false};
    small_stack_thread holder([&] {
      std::lock_guard lk(*locks[i]);
      held = true;
      std::this_thread::sleep_for(200ms);
    });
    ASSERT_TRUE(holder.started());
    while (!held) std::this_thread::yield();
    const int status = status_of_child(first_balrog_calls);
    holder.join();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "lock " << i << ": the child " << describe(status);
  }
}

TEST(ForkSafety, AForkedChildGetsAWatchdogOfItsOwn) {
  EXPECT_EQ(balrog::block_on(plus_one(0)), 1);  // the parent's monitor runs (the default)
  const int status = status_of_child([] {
    // The parent's monitor thread is not in the child: a stall here must still be reported.
    std::atomic<bool> reported{false};
    balrog::set_watchdog({.threshold = 30ms,
                          .print = false,
                          .hook = [&](const balrog::watchdog_report&) { reported = true; }});
    balrog::run([&] {
      const auto give_up = std::chrono::steady_clock::now() + 2s;
      while (!reported && std::chrono::steady_clock::now() < give_up) {
      }  // holds the shard without yielding
    });
    balrog::set_watchdog({.print = false});
    return reported ? 0 : 4;
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child " << describe(status);
}

TEST(ForkSafety, AForkedChildListsOnlyItsOwnShards) {
  // Another thread of the parent runs a shard; the child has no such thread.
  balrog::event started;
  balrog::event release;
  small_stack_thread other([&] {
    balrog::run([&] {
      auto f = balrog::spawn([&] { release.wait(); }, {.name = "parents-fiber"});
      started.set();
      f.join();
    });
  });
  ASSERT_TRUE(other.started());
  started.wait();
  const int status = status_of_child([] {
    std::string text;
    balrog::run([&] {
      auto mine = balrog::spawn([] { balrog::this_fiber::sleep_for(1h); }, {.name = "childs"});
      balrog::this_fiber::sleep_for(5ms);
      std::ostringstream out;
      balrog::dump_fibers(out);
      text = out.str();
      mine.cancel();
    });
    // The parent's other shard is not asked (it would never answer here).
    const bool ok = text.find("childs") != std::string::npos &&
                    text.find("parents-fiber") == std::string::npos &&
                    text.find("did not answer") == std::string::npos;
    if (!ok) std::fputs(text.c_str(), stderr);
    return ok ? 0 : 5;
  });
  release.set();
  other.join();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child " << describe(status);
}
