// A C file with the posix-thread map: the waits for a thread or a semaphore become their C
// twins (balrog/compat/c/posix_thread.h: offloaded, the fiber waits), and so do the mutex and
// condition variable calls (fiber-aware twins on the same pthread objects: lock, trylock,
// timedlock, unlock, wait, timedwait, signal, broadcast); pthread_create, rwlocks and barriers
// have no C twin (docs/maps/posix-thread.md says why) and are reported with the map's advice,
// left as they are. The result compiles as C.
// RUN: printf 'maps: [posix-thread]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- -std=c11 -D_GNU_SOURCE -I%runtime_include
// RUN: clang-16 -x c -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only -I%runtime_include %t.c
// RUN: sed 's|//.*||' %t.c | %not grep -E '::|\.hpp|offloaded'

#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <time.h>
// CHECK-FIXES: #include <balrog/compat/c/posix_thread.h>
// CHECK-FIXES-NEXT: #include <pthread.h>

static void* work(void* arg) { return arg; }

int waits(sem_t* sem, const struct timespec* until) {
  pthread_t t;
  void* out = NULL;
  int rc = pthread_create(&t, NULL, work, NULL);
  // CHECK-MESSAGES: :[[@LINE-1]]:12: warning: call to 'pthread_create' {{.*}}; a pthread is an OS thread{{.*}}in C there is no fiber twin{{.*}} [blocking-calls]
  // CHECK-FIXES: int rc = pthread_create(&t, NULL, work, NULL);
  rc |= pthread_join(t, &out);
  // CHECK-FIXES: rc |= balrog_pthread_join(t, &out);
  rc |= sem_wait(sem);
  // CHECK-FIXES: rc |= balrog_sem_wait(sem);
  rc |= sem_timedwait(sem, until);
  // CHECK-FIXES: rc |= balrog_sem_timedwait(sem, until);
  rc |= sem_clockwait(sem, CLOCK_MONOTONIC, until);
  // CHECK-FIXES: rc |= balrog_sem_clockwait(sem, CLOCK_MONOTONIC, until);
  return rc;
}

int locks(pthread_mutex_t* m, pthread_cond_t* c, pthread_rwlock_t* rw,
          const struct timespec* until) {
  int rc = pthread_mutex_lock(m);
  // CHECK-FIXES: int rc = balrog_pthread_mutex_lock(m);
  rc |= pthread_mutex_trylock(m);
  // CHECK-FIXES: rc |= balrog_pthread_mutex_trylock(m);
  rc |= pthread_mutex_timedlock(m, until);
  // CHECK-FIXES: rc |= balrog_pthread_mutex_timedlock(m, until);
  rc |= pthread_cond_wait(c, m);
  // CHECK-FIXES: rc |= balrog_pthread_cond_wait(c, m);
  rc |= pthread_cond_timedwait(c, m, until);
  // CHECK-FIXES: rc |= balrog_pthread_cond_timedwait(c, m, until);
  rc |= pthread_cond_signal(c);
  // CHECK-FIXES: rc |= balrog_pthread_cond_signal(c);
  rc |= pthread_cond_broadcast(c);
  // CHECK-FIXES: rc |= balrog_pthread_cond_broadcast(c);
  rc |= pthread_mutex_unlock(m);
  // CHECK-FIXES: rc |= balrog_pthread_mutex_unlock(m);
  rc |= pthread_rwlock_rdlock(rw);
  // CHECK-MESSAGES: :[[@LINE-1]]:9: warning: call to 'pthread_rwlock_rdlock' blocks the thread and has no balrog twin; {{.*}}in C, a pthread mutex (the map rewrites it to a fiber-aware twin) [blocking-calls]
  // CHECK-FIXES: rc |= pthread_rwlock_rdlock(rw);
  return rc;
}
