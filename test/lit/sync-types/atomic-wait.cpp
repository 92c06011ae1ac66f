// std::atomic<T>::wait/notify_one/notify_all and std::atomic_flag's become calls of
// balrog::atomic_wait/atomic_notify_one/atomic_notify_all (the atomics themselves stay
// std::atomic); the free functions std::atomic_wait... become balrog's of the same name.
// Only the calls change: the object and the arguments are kept as written. std::atomic_ref's
// waits are reported; a call in a macro body is reported. The rewritten file compiles.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags -Wno-unused %t.cpp

#include <atomic>
// CHECK-FIXES: #include <atomic>
// CHECK-FIXES-NEXT: #include <balrog/sync/atomic_wait.hpp>

std::atomic<int> state{0};
// CHECK-FIXES: std::atomic<int> state{0};
std::atomic_flag ready;

struct worker {
  std::atomic<bool> stop{false};
  std::atomic<long>* counter = nullptr;
  void park() {
    stop.wait(false);
    // CHECK-FIXES: balrog::atomic_wait(stop, false);
    this->stop.wait(false, std::memory_order_acquire);
    // CHECK-FIXES: balrog::atomic_wait(this->stop, false, std::memory_order_acquire);
    counter->wait(0);
    // CHECK-FIXES: balrog::atomic_wait(counter, 0);
    counter->notify_all();
    // CHECK-FIXES: balrog::atomic_notify_all(counter);
  }
};

void producer() {
  state.store(1);
  state.notify_one();
  // CHECK-FIXES: balrog::atomic_notify_one(state);
  state . notify_all ( );
  // CHECK-FIXES: balrog::atomic_notify_all(state  );
  ready.test_and_set();
  ready.notify_all();
  // CHECK-FIXES: balrog::atomic_notify_all(ready);
}

void consumer() {
  (state).wait(0);
  // CHECK-FIXES: balrog::atomic_wait((state), 0);
  ready.wait(false);
  // CHECK-FIXES: balrog::atomic_wait(ready, false);
  std::atomic_wait(&state, 0);
  // CHECK-FIXES: balrog::atomic_wait(&state, 0);
  std::atomic_wait_explicit(&state, 0, std::memory_order_relaxed);
  // CHECK-FIXES: balrog::atomic_wait_explicit(&state, 0, std::memory_order_relaxed);
  std::atomic_notify_all(&state);
  // CHECK-FIXES: balrog::atomic_notify_all(&state);
}

#define WAIT_ZERO(a) (a).wait(0)
#define ARG(x) x
void macros() {
  WAIT_ZERO(state);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: 'std::atomic::wait' waits by blocking the thread; not rewritten: it is inside a macro body (rewrite the macro by hand, or mark the line NOBALROG) [sync-types]
  ARG(state.wait(0));
  // CHECK-FIXES: ARG(balrog::atomic_wait(state, 0));
}

void refs(int& plain) {
  std::atomic_ref<int> r(plain);
  r.wait(0);
  // CHECK-MESSAGES: :[[@LINE-1]]:5: warning: 'std::atomic_ref::wait' waits by blocking the thread and has no balrog twin (an atomic_ref does not tell its address); not rewritten (wait on a std::atomic with balrog::atomic_wait, or on a balrog::event or condition variable, instead) [sync-types]
}

void kept() {
  state.wait(1);  // NOBALROG
}

struct my_atomic {
  void wait(int) {}
};
void look_alike(my_atomic& m) { m.wait(0); }
// CHECK-FIXES: void look_alike(my_atomic& m) { m.wait(0); }
