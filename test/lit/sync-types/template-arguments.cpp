// std types spelled as template arguments: lock types, containers, smart pointers, traits.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <array>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <type_traits>
// CHECK-FIXES: #include <array>
// CHECK-FIXES-NEXT: #include <balrog/sync/condition_variable.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/mutex.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/shared_mutex.hpp>
// CHECK-FIXES-NEXT: #include <condition_variable>

std::mutex a, b;
// CHECK-FIXES: balrog::mutex a, b;
std::shared_mutex rw;
// CHECK-FIXES: balrog::shared_mutex rw;
std::condition_variable cv;
// CHECK-FIXES: balrog::condition_variable cv;

void locks() {
  std::lock_guard<std::mutex> g(a);
  // CHECK-FIXES: std::lock_guard<balrog::mutex> g(a);
  std::unique_lock<std::mutex> u(b, std::defer_lock);
  // CHECK-FIXES: std::unique_lock<balrog::mutex> u(b, std::defer_lock);
}

void all_at_once() {
  std::scoped_lock<std::mutex, std::shared_mutex> both(a, rw);
  // CHECK-FIXES: std::scoped_lock<balrog::mutex, balrog::shared_mutex> both(a, rw);
  std::scoped_lock<std::mutex> adopted(std::adopt_lock, b);
  // CHECK-FIXES: std::scoped_lock<balrog::mutex> adopted(std::adopt_lock, b);
}

void readers_and_writers() {
  std::shared_lock<std::shared_mutex> r(rw);
  // CHECK-FIXES: std::shared_lock<balrog::shared_mutex> r(rw);
  r.unlock();
  std::unique_lock<std::shared_mutex> w(rw);
  // CHECK-FIXES: std::unique_lock<balrog::shared_mutex> w(rw);
}

void waits() {
  std::unique_lock<std::mutex> lk(a);
  // CHECK-FIXES: std::unique_lock<balrog::mutex> lk(a);
  cv.wait_for(lk, std::chrono::milliseconds(1), [] { return true; });
  auto again = std::unique_lock<std::mutex>(b);
  // CHECK-FIXES: auto again = std::unique_lock<balrog::mutex>(b);
  cv.wait(again, [] { return true; });
}

std::deque<std::mutex> shards(4);
// CHECK-FIXES: std::deque<balrog::mutex> shards(4);
std::array<std::condition_variable_any, 2> signals;
// CHECK-FIXES: std::array<balrog::condition_variable_any, 2> signals;
std::unique_ptr<std::timed_mutex> owned = std::make_unique<std::timed_mutex>();
// CHECK-FIXES: std::unique_ptr<balrog::timed_mutex> owned = std::make_unique<balrog::timed_mutex>();
std::shared_ptr<std::shared_timed_mutex> shared;
// CHECK-FIXES: std::shared_ptr<balrog::shared_timed_mutex> shared;
std::optional<std::pair<std::mutex*, int>> nested;
// CHECK-FIXES: std::optional<std::pair<balrog::mutex*, int>> nested;
static_assert(!std::is_copy_constructible_v<std::mutex>);
// CHECK-FIXES: static_assert(!std::is_copy_constructible_v<balrog::mutex>);
static_assert(std::is_same_v<decltype(a), std::mutex>);
// CHECK-FIXES: static_assert(std::is_same_v<decltype(a), balrog::mutex>);
