// Every entry of the std-thread map, spelled qualified, through a using-directive and through
// a using-declaration. Explicit template arguments are kept. The rewritten file compiles.
// RUN: %check_balrog %s blocking-calls %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <chrono>
#include <thread>
// CHECK-FIXES: #include <balrog/compat/this_thread.hpp>
// CHECK-FIXES-NEXT: #include <chrono>

using namespace std::chrono_literals;

void qualified() {
  std::this_thread::sleep_for(10ms);
  // CHECK-FIXES: balrog::compat::this_thread::sleep_for(10ms);
  std::this_thread::sleep_until(std::chrono::steady_clock::now() + 1s);
  // CHECK-FIXES: balrog::compat::this_thread::sleep_until(std::chrono::steady_clock::now() + 1s);
  std::this_thread::yield();
  // CHECK-FIXES: balrog::compat::this_thread::yield();
  ::std::this_thread::yield();
  // CHECK-FIXES: balrog::compat::this_thread::yield();
  std::this_thread::sleep_for<long, std::milli>(std::chrono::milliseconds(5));
  // CHECK-FIXES: balrog::compat::this_thread::sleep_for<long, std::milli>(std::chrono::milliseconds(5));
}

void through_using_directive() {
  using namespace std::this_thread;
  sleep_for(1ms);
  // CHECK-FIXES: balrog::compat::this_thread::sleep_for(1ms);
  yield();
  // CHECK-FIXES: balrog::compat::this_thread::yield();
}

void through_using_declaration() {
  using std::this_thread::sleep_until;
  sleep_until(std::chrono::system_clock::now());
  // CHECK-FIXES: balrog::compat::this_thread::sleep_until(std::chrono::system_clock::now());
}

namespace tt = std::this_thread;
void through_namespace_alias() {
  tt::yield();
  // CHECK-FIXES: balrog::compat::this_thread::yield();
}
