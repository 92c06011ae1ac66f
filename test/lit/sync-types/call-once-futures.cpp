// std::once_flag and std::call_once, std::future, std::shared_future, std::promise,
// std::packaged_task and std::async become their balrog twins (waits that suspend the fiber;
// std::async's task a fiber of the shard), however they are spelled. std::launch and
// std::future_status stay. The rewritten file compiles against the runtime.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <future>
#include <mutex>
#include <string>
#include <vector>
// CHECK-FIXES: #include <balrog/future.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/call_once.hpp>
// CHECK-FIXES-NEXT: #include <future>

std::once_flag init_flag;
// CHECK-FIXES: balrog::once_flag init_flag;
int config_value = 0;

void load_config() {
  std::call_once(init_flag, [] { config_value = 42; });
  // CHECK-FIXES: balrog::call_once(init_flag, [] { config_value = 42; });
}

int compute(int x) { return x * 2; }

int fan_out() {
  std::vector<std::future<int>> parts;
  // CHECK-FIXES: std::vector<balrog::future<int>> parts;
  for (int i = 0; i < 4; ++i) parts.push_back(std::async(std::launch::async, compute, i));
  // CHECK-FIXES: for (int i = 0; i < 4; ++i) parts.push_back(balrog::async(std::launch::async, compute, i));
  auto deferred = std::async(std::launch::deferred, [] { return 1; });
  // CHECK-FIXES: auto deferred = balrog::async(std::launch::deferred, [] { return 1; });
  std::future<int> by_default = ::std::async(compute, 5);
  // CHECK-FIXES: balrog::future<int> by_default = ::balrog::async(compute, 5);
  int sum = deferred.get() + by_default.get();
  for (auto& p : parts) {
    if (p.wait_for(std::chrono::seconds(1)) == std::future_status::ready) sum += p.get();
  }
  return sum;
}

std::string relay() {
  std::promise<std::string> p;
  // CHECK-FIXES: balrog::promise<std::string> p;
  std::shared_future<std::string> shared = p.get_future().share();
  // CHECK-FIXES: balrog::shared_future<std::string> shared = p.get_future().share();
  p.set_value("x");
  std::packaged_task<int(int)> task(compute);
  // CHECK-FIXES: balrog::packaged_task<int(int)> task(compute);
  std::future<int> f = task.get_future();
  // CHECK-FIXES: balrog::future<int> f = task.get_future();
  task(3);
  return shared.get() + std::to_string(f.get());
}

std::future<void> started(std::promise<void>& done) { return done.get_future(); }
// CHECK-FIXES: balrog::future<void> started(balrog::promise<void>& done) { return done.get_future(); }

namespace spelled {
using namespace std;
once_flag flag;
// CHECK-FIXES: balrog::once_flag flag;
void once() { call_once(flag, [] {}); }
// CHECK-FIXES: void once() { balrog::call_once(flag, [] {}); }
future<int> later() { return async(launch::async, [] { return 1; }); }
// CHECK-FIXES: balrog::future<int> later() { return balrog::async(launch::async, [] { return 1; }); }
}  // namespace spelled

void kept() {
  std::once_flag flag;  // NOBALROG(sync-types)
  std::call_once(flag, [] {});
  // CHECK-FIXES: balrog::call_once(flag, [] {});
}
