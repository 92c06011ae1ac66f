/* LD_PRELOADed into a Python test's child process (test_hub.py, the signal wakeup fd tests):
 * makes "a signal handled after the hub's last look at its flags and before its epoll_wait
 * sleeps" happen every time instead of once in a blue moon.
 *
 * balrog_test_signal_before_next_wait(signo) arms the calling thread: its next epoll wait that
 * may block (a timeout other than zero) first raises `signo` on that thread, so CPython's C
 * handler runs (and writes its wakeup fd, if one is set) right before the wait begins. The
 * runtime's epoll_wait and epoll_pwait2 calls resolve to these. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <sys/epoll.h>
#include <time.h>

static __thread int armed_signal;

void balrog_test_signal_before_next_wait(int signo) { armed_signal = signo; }

static void fire_if_armed(int may_block) {
  if (!may_block || armed_signal == 0) return;
  const int signo = armed_signal;
  armed_signal = 0;
  raise(signo); /* handled before raise returns: the thread does not block it */
}

int epoll_wait(int epfd, struct epoll_event* events, int maxevents, int timeout) {
  static int (*real)(int, struct epoll_event*, int, int);
  if (real == 0) real = (int (*)(int, struct epoll_event*, int, int))dlsym(RTLD_NEXT, "epoll_wait");
  fire_if_armed(timeout != 0);
  return real(epfd, events, maxevents, timeout);
}

int epoll_pwait2(int epfd, struct epoll_event* events, int maxevents,
                 const struct timespec* timeout, const sigset_t* sigmask) {
  static int (*real)(int, struct epoll_event*, int, const struct timespec*, const sigset_t*);
  if (real == 0) {
    real = (int (*)(int, struct epoll_event*, int, const struct timespec*,
                    const sigset_t*))dlsym(RTLD_NEXT, "epoll_pwait2");
  }
  fire_if_armed(timeout == 0 || timeout->tv_sec != 0 || timeout->tv_nsec != 0);
  return real(epfd, events, maxevents, timeout, sigmask);
}
