// Templates are rewritten once, as written (never per instantiation): members and default
// arguments of class templates, explicit specializations, function templates, lambdas.
// Dependent types (`std::lock_guard<M>`) need no edit and follow their arguments.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <condition_variable>
#include <mutex>
#include <shared_mutex>
// CHECK-FIXES: #include <balrog/sync/condition_variable.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/mutex.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/recursive_mutex.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/shared_mutex.hpp>
// CHECK-FIXES-NEXT: #include <condition_variable>

template <class Mutex = std::mutex>
// CHECK-FIXES: template <class Mutex = balrog::mutex>
struct guarded {
  Mutex m;
  std::mutex own;
  // CHECK-FIXES: balrog::mutex own;
  int value = 0;
  int get() {
    std::lock_guard<Mutex> lk(m);
    // CHECK-FIXES: std::lock_guard<Mutex> lk(m);
    std::lock_guard<std::mutex> also(own);
    // CHECK-FIXES: std::lock_guard<balrog::mutex> also(own);
    return value;
  }
};
guarded<> by_default;
guarded<std::shared_mutex> by_argument;
// CHECK-FIXES: guarded<balrog::shared_mutex> by_argument;
template <>
struct guarded<std::recursive_mutex*> {};
// CHECK-FIXES: struct guarded<balrog::recursive_mutex*> {};
template <>
struct guarded<std::condition_variable> {};
// CHECK-FIXES: struct guarded<balrog::condition_variable> {};

template <class Lockable>
void wait_on(Lockable& l, std::condition_variable_any& cv) {
  // CHECK-FIXES: void wait_on(Lockable& l, balrog::condition_variable_any& cv) {
  std::unique_lock<Lockable> lk(l);
  cv.wait_for(lk, std::chrono::milliseconds(1));
}

template <class T>
T& first(T& a, T&) {
  return a;
}

std::condition_variable_any any;
// CHECK-FIXES: balrog::condition_variable_any any;

int main() {
  std::mutex m;
  // CHECK-FIXES: balrog::mutex m;
  wait_on(m, any);
  wait_on(by_argument.m, any);
  std::lock_guard lk(first<std::mutex>(m, m));
  // CHECK-FIXES: std::lock_guard lk(first<balrog::mutex>(m, m));
  auto locked = [](std::mutex& x, auto& y) {
    // CHECK-FIXES: auto locked = [](balrog::mutex& x, auto& y) {
    std::scoped_lock both(x, y);
    return true;
  };
  std::timed_mutex t;
  // CHECK-FIXES: balrog::timed_mutex t;
  return by_default.get() + (locked(m, t) ? 0 : 1);
}
