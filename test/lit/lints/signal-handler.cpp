// A call that suspends the fiber inside a signal handler (a function passed to signal() or set
// as sa_handler / sa_sigaction in the same translation unit) is reported.
// RUN: %check_balrog %s blocking-calls,lints %t -- -- %balrog_std_flags

#include <signal.h>
#include <unistd.h>

#include <csignal>
// CHECK-FIXES: #include <balrog/compat/posix_time.hpp>

void on_term(int) {
  sleep(1);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'sleep' in the signal handler 'on_term' suspends the fiber: a handler runs on whatever stack the signal interrupted (a fiber's, or the scheduler's own), and switching fibers from inside it corrupts the scheduler and is not async-signal-safe (only set a 'volatile std::sig_atomic_t' or lock-free std::atomic flag, or write(2) to a self-pipe, in the handler, and do the work on a fiber) [lints]
  // CHECK-FIXES: balrog::compat::sleep(1);
}

void on_child(int, siginfo_t*, void*) {
  usleep(10);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'usleep' in the signal handler 'on_child' suspends the fiber{{.*}} [lints]
  // CHECK-FIXES: balrog::compat::usleep(10);
}

void on_hup(int) {
  usleep(10);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'usleep' in the signal handler 'on_hup' suspends the fiber{{.*}} [lints]
  // CHECK-FIXES: balrog::compat::usleep(10);
}

volatile std::sig_atomic_t stop = 0;
void on_int(int) { stop = 1; }  // what a handler should do: not reported

// Not a handler: not reported.
void worker() {
  sleep(1);
  // CHECK-FIXES: balrog::compat::sleep(1);
}

void install() {
  signal(SIGTERM, on_term);
  std::signal(SIGHUP, &on_hup);
  std::signal(SIGINT, on_int);
  struct sigaction sa {};
  sa.sa_sigaction = on_child;
  sigaction(SIGCHLD, &sa, nullptr);
  signal(SIGUSR1, [](int) {
    sleep(2);
    // CHECK-MESSAGES: :[[@LINE-1]]:5: warning: call to 'sleep' in a signal handler suspends the fiber{{.*}} [lints]
    // CHECK-FIXES: balrog::compat::sleep(2);
  });
  signal(SIGUSR2, [](int) {
    sleep(3);  // NOBALROG(lints)
    // CHECK-FIXES: balrog::compat::sleep(3);  // NOBALROG(lints)
  });
}
