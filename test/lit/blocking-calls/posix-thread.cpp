// The posix-thread map: waits for a thread or a semaphore (no owner) run on the offload pool;
// pthread mutexes and condition variables become their fiber-aware twins (balrog_pthread_*,
// balrog/compat/c/posix_thread.h, callable from C++), unlock and signal too (blocks: false);
// pthread_create, rwlocks and barriers are report entries: each call is reported with the
// map's advice and left as it is (--check fails on them).
// RUN: printf 'maps: [posix-thread]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp
// RUN: mkdir -p %t.dir && sed -e 's,//.*CHECK-.*,,' %s > %t.dir/check.cpp
// RUN: %not %balrog_gen --check --config-file=%t.balrog.yaml %t.dir/check.cpp -- %balrog_std_flags 2>/dev/null

#include <pthread.h>
#include <semaphore.h>
// CHECK-FIXES: #include <balrog/compat/c/posix_thread.h>
// CHECK-FIXES-NEXT: #include <balrog/compat/offloaded.hpp>
// CHECK-FIXES-NEXT: #include <pthread.h>

void* work(void*) { return nullptr; }

int threads(sem_t* sem, pthread_mutex_t* m, pthread_cond_t* cv, pthread_rwlock_t* rw) {
  pthread_t t;
  pthread_create(&t, nullptr, work, nullptr);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'pthread_create' has no balrog twin; a pthread is an OS thread, and every blocking call on it blocks that thread; in C++ use std::thread (the sync-types pass rewrites it to balrog::thread, a fiber on the current shard){{.*}} [blocking-calls]
  pthread_join(t, nullptr);
  // CHECK-FIXES: balrog::compat::offloaded<&::pthread_join>(t, nullptr);
  sem_wait(sem);
  // CHECK-FIXES: balrog::compat::offloaded<&::sem_wait>(sem);
  pthread_mutex_lock(m);
  // CHECK-FIXES: balrog_pthread_mutex_lock(m);
  if (pthread_mutex_trylock(m) == 0) pthread_mutex_unlock(m);
  // CHECK-FIXES: if (balrog_pthread_mutex_trylock(m) == 0) balrog_pthread_mutex_unlock(m);
  pthread_cond_wait(cv, m);
  // CHECK-FIXES: balrog_pthread_cond_wait(cv, m);
  pthread_cond_signal(cv);
  // CHECK-FIXES: balrog_pthread_cond_signal(cv);
  pthread_cond_broadcast(cv);
  // CHECK-FIXES: balrog_pthread_cond_broadcast(cv);
  pthread_mutex_unlock(m);
  // CHECK-FIXES: balrog_pthread_mutex_unlock(m);
  pthread_rwlock_rdlock(rw);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'pthread_rwlock_rdlock' blocks the thread and has no balrog twin; use std::shared_mutex and lock_shared {{.*}} [blocking-calls]
  auto* lock_fn = &pthread_mutex_lock;
  // CHECK-MESSAGES: :[[@LINE-1]]:20: warning: 'pthread_mutex_lock' is taken by address; calls through the pointer block the thread and are not rewritten {{.*}} [blocking-calls]
  return lock_fn != nullptr;
}
