// fork() in a translation unit that balrog-gen rewrites runs on fibers: reported.
// RUN: %check_balrog %s blocking-calls,lints %t -- -- %balrog_std_flags
// Only when a pass that rewrites runs:
// RUN: %balrog_gen --passes=lints --check %s -- %balrog_std_flags

#include <sys/types.h>
#include <unistd.h>

int spawn() {
  pid_t pid = fork();
  // CHECK-MESSAGES: :[[@LINE-1]]:15: warning: 'fork' in code that runs on fibers: the child has one thread, the one that called fork; the runtime's other shards, their fibers, the offload pool and the reactor's threads are gone, and the child shares the parent's epoll and eventfd descriptors, so a rewritten blocking call in the child hangs or steals the parent's events (fork before the runtime starts, or exec right away in the child (posix_spawn), calling only async-signal-safe functions in between; mark the line NOBALROG(lints) when that is so) [lints]
  if (pid == 0) _exit(0);
  return ::fork() + fork();  // NOBALROG(lints)
}

namespace mine {
int fork();  // not libc's
int use() { return fork(); }
}  // namespace mine
