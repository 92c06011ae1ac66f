// Class template argument deduction needs no edit: `std::lock_guard lk(m)` locks whatever m
// becomes. Only the declarations change, and the rewritten file compiles.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <condition_variable>
#include <mutex>
#include <shared_mutex>
// CHECK-FIXES: #include <balrog/sync/condition_variable.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/mutex.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/shared_mutex.hpp>
// CHECK-FIXES-NEXT: #include <condition_variable>

struct state {
  std::mutex m;
  // CHECK-FIXES: balrog::mutex m;
  std::timed_mutex t;
  // CHECK-FIXES: balrog::timed_mutex t;
  std::shared_mutex rw;
  // CHECK-FIXES: balrog::shared_mutex rw;
  std::condition_variable cv;
  // CHECK-FIXES: balrog::condition_variable cv;
  std::condition_variable_any cva;
  // CHECK-FIXES: balrog::condition_variable_any cva;
  bool ready = false;
};

void use(state& s) {
  {
    std::lock_guard lk(s.m);
    // CHECK-FIXES: std::lock_guard lk(s.m);
    s.ready = true;
  }
  s.cv.notify_all();
  std::unique_lock lk(s.m);
  // CHECK-FIXES: std::unique_lock lk(s.m);
  s.cv.wait(lk, [&] { return s.ready; });
  // CHECK-FIXES: s.cv.wait(lk, [&] { return s.ready; });
  lk.unlock();
  std::unique_lock timed(s.t, std::chrono::milliseconds(5));
  std::scoped_lock both(s.m, s.t);
  // CHECK-FIXES: std::scoped_lock both(s.m, s.t);
  std::shared_lock reader(s.rw);
  // CHECK-FIXES: std::shared_lock reader(s.rw);
  s.cva.wait_for(reader, std::chrono::milliseconds(1));
  auto temporary = std::unique_lock(s.m, std::try_to_lock);
  auto& alias = s.m;
  std::unique_lock through_alias(alias, std::adopt_lock);
  s.cv.wait(through_alias);
}
