// typedefs and alias declarations are rewritten where they are defined; their uses follow. A
// using-declaration `using std::mutex;` becomes `using balrog::mutex;`, so the unqualified uses
// need no edit; after `using namespace std;` an unqualified `mutex` becomes `balrog::mutex`.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <condition_variable>
#include <mutex>
#include <shared_mutex>
// CHECK-FIXES: #include <balrog/sync/condition_variable.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/mutex.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/shared_mutex.hpp>
// CHECK-FIXES-NEXT: #include <condition_variable>

typedef std::mutex mutex_type;
// CHECK-FIXES: typedef balrog::mutex mutex_type;
using rw_type = std::shared_timed_mutex;
// CHECK-FIXES: using rw_type = balrog::shared_timed_mutex;
template <class T>
using guarded = std::pair<std::mutex, T>;
// CHECK-FIXES: using guarded = std::pair<balrog::mutex, T>;

mutex_type by_typedef;
rw_type by_alias;
guarded<int>* by_alias_template;

namespace uses_declaration {
using std::condition_variable;
// CHECK-FIXES: using balrog::condition_variable;
using std::mutex;
// CHECK-FIXES: using balrog::mutex;
mutex m;
condition_variable cv;
void wait() {
  std::unique_lock<mutex> lk(m);
  cv.wait(lk);
}
}  // namespace uses_declaration

namespace re_exported {
using ::std::shared_mutex;
// CHECK-FIXES: using ::balrog::shared_mutex;
}  // namespace re_exported
re_exported::shared_mutex through_reexport;

namespace uses_directive {
using namespace std;
mutex m;
// CHECK-FIXES: balrog::mutex m;
condition_variable_any cv;
// CHECK-FIXES: balrog::condition_variable_any cv;
void wait() {
  unique_lock<mutex> lk(m);
  // CHECK-FIXES: unique_lock<balrog::mutex> lk(m);
  cv.wait(lk);
}
}  // namespace uses_directive

namespace s = std;
s::timed_mutex through_namespace_alias;
// CHECK-FIXES: balrog::timed_mutex through_namespace_alias;
