// Names that must not be rewritten: a user type called `mutex` in another namespace (also
// found through a using-directive), members and functions called mutex, nested names of
// std::mutex, std types declared in a system header (even with a header filter that admits
// every file), and the other std lock types themselves.
// RUN: rm -rf %t.dir && mkdir -p %t.dir && cp %S/Inputs/system/legacy_lib.hpp %t.dir/
// RUN: %check_balrog %s sync-types %t -- --header-filter=.* -- %balrog_std_flags -isystem %t.dir
// RUN: diff %S/Inputs/system/legacy_lib.hpp %t.dir/legacy_lib.hpp

#include <legacy_lib.hpp>
#include <mutex>
// CHECK-FIXES: #include <balrog/sync/mutex.hpp>
// CHECK-FIXES-NEXT: #include <legacy_lib.hpp>

namespace app {
struct mutex {
  void lock() {}
  void unlock() {}
};
struct condition_variable {};
}  // namespace app

app::mutex mine;
// CHECK-FIXES: app::mutex mine;
std::lock_guard<app::mutex>* mine_guard;
// CHECK-FIXES: std::lock_guard<app::mutex>* mine_guard;

namespace user {
using namespace app;
mutex also_mine;
// CHECK-FIXES: mutex also_mine;
condition_variable not_std;
// CHECK-FIXES: condition_variable not_std;
}  // namespace user

struct named_like_it {
  int mutex = 0;
  std::mutex& condition_variable();
  // CHECK-FIXES: balrog::mutex& condition_variable();
};

std::mutex::native_handle_type* handle_type;
// CHECK-FIXES: std::mutex::native_handle_type* handle_type;
std::unique_lock<app::mutex> user_lock;
// CHECK-FIXES: std::unique_lock<app::mutex> user_lock;
std::defer_lock_t deferral;
// CHECK-FIXES: std::defer_lock_t deferral;

legacy::pool from_system_header;
// CHECK-FIXES: legacy::pool from_system_header;
legacy::lock_type through_system_alias;
// CHECK-FIXES: legacy::lock_type through_system_alias;

void use() {
  std::lock_guard<legacy::lock_type> a(through_system_alias);
  // CHECK-FIXES: std::lock_guard<legacy::lock_type> a(through_system_alias);
  std::lock_guard b(from_system_header.m);
  // CHECK-FIXES: std::lock_guard b(from_system_header.m);
  std::lock_guard<std::mutex> c(from_system_header.m);
  // CHECK-MESSAGES: :[[@LINE-1]]:33: warning: 'from_system_header.m' stays a std::mutex (not rewritten), but the type of this lock is rewritten to take a balrog::mutex: the rewritten code does not compile (let both be rewritten, or mark this line NOBALROG(sync-types) too) [sync-types]
  // CHECK-FIXES: std::lock_guard<balrog::mutex> c(from_system_header.m);
  std::mutex mine;
  // CHECK-FIXES: balrog::mutex mine;
  legacy::touch(mine);
  // CHECK-MESSAGES: :[[@LINE-1]]:17: warning: 'mine' becomes a balrog::mutex, but this parameter of 'legacy::touch' still takes a std::mutex (not rewritten): the rewritten code does not compile (keep 'mine' a std::mutex: mark its declaration NOBALROG(sync-types)) [sync-types]
  legacy::touch(from_system_header.m);
  std::mutex kept;  // NOBALROG: passed to a third-party function
  legacy::touch(kept);
  LEGACY_MUTEX from_system_macro;
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: 'std::mutex' blocks the thread while it waits; not rewritten: it is inside a macro body (rewrite the macro by hand, or mark the line NOBALROG) [sync-types]
  // CHECK-FIXES: LEGACY_MUTEX from_system_macro;
}
