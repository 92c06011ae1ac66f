// With the pass option thread-local-to-fiber-local, thread_local variables become
// balrog::fiber_local<T> (one value per fiber; per OS thread off the runtime), their initializer
// a factory each fiber's value is made with, and every use `(*name)`. What cannot be rewritten
// that way is reported, with the reason. The rewritten file compiles against the runtime.
// RUN: printf 'pass-options:\n  sync-types: {thread-local-to-fiber-local: true}\n' > %t.yaml
// RUN: %check_balrog %s sync-types %t -- --config-file=%t.yaml -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <string>
#include <vector>
// CHECK-FIXES: #include <balrog/fiber_local.hpp>
// CHECK-FIXES-NEXT: #include <string>

thread_local int request_count = 0;
// CHECK-FIXES: balrog::fiber_local<int> request_count{[]() -> int { return 0; }};
static thread_local std::string current_user("nobody");
// CHECK-FIXES: static balrog::fiber_local<std::string> current_user{[]() -> std::string { return std::string("nobody"); }};
thread_local std::vector<int> scratch{1, 2, 3};
// CHECK-FIXES: balrog::fiber_local<std::vector<int>> scratch{[]() -> std::vector<int> { return std::vector<int>{1, 2, 3}; }};
__thread long plain_gnu;
// CHECK-FIXES: balrog::fiber_local<long> plain_gnu;
thread_local const int limit = 10;
// CHECK-FIXES: balrog::fiber_local<const int> limit{[]() -> const int { return 10; }};

namespace app {
thread_local int depth;
// CHECK-FIXES: balrog::fiber_local<int> depth;
}

int next_id() {
  thread_local int counter = 0;
  // CHECK-FIXES: static balrog::fiber_local<int> counter{[]() -> int { return 0; }};
  static thread_local int calls;
  // CHECK-FIXES: static balrog::fiber_local<int> calls;
  ++calls;
  // CHECK-FIXES: ++(*calls);
  return ++counter + limit;
  // CHECK-FIXES: return ++(*counter) + (*limit);
}

void handle(const std::string& user) {
  current_user = user;
  // CHECK-FIXES: (*current_user) = user;
  ++request_count;
  // CHECK-FIXES: ++(*request_count);
  app::depth += 1;
  // CHECK-FIXES: (*app::depth) += 1;
  scratch.push_back(static_cast<int>(current_user.size()));
  // CHECK-FIXES: (*scratch).push_back(static_cast<int>((*current_user).size()));
  long* p = &plain_gnu;
  // CHECK-FIXES: long* p = &(*plain_gnu);
  (void)p;
}

// Reported, with the reason.
struct context {
  static thread_local std::string name;
  // CHECK-MESSAGES: :[[@LINE-1]]:35: warning: 'name' is thread_local: every fiber of a thread shares one instance (a balrog::thread is a fiber of the thread that started it, and fibers interleave at every suspension point); not rewritten to a balrog::fiber_local: it is a static data member (rewrite it by hand, or mark the declaration NOBALROG(sync-types) when one per OS thread is intended) [sync-types]
};
thread_local std::string context::name;

thread_local char buffer[64];
// CHECK-MESSAGES: :[[@LINE-1]]:19: warning: 'buffer' is thread_local: {{.*}}not rewritten to a balrog::fiber_local: it is an array (make it a std::array first) {{.*}} [sync-types]
thread_local auto deduced = 1;
// CHECK-MESSAGES: :[[@LINE-1]]:19: warning: 'deduced' is thread_local: {{.*}}: its type is deduced (spell the type) {{.*}} [sync-types]
thread_local int first_of = 1, second_of = 2;
// CHECK-MESSAGES: :[[@LINE-1]]:18: warning: 'first_of' is thread_local: {{.*}}: its declaration declares several variables {{.*}} [sync-types]
// CHECK-MESSAGES: :[[@LINE-2]]:32: warning: 'second_of' is thread_local: {{.*}}: its declaration declares several variables {{.*}} [sync-types]
extern thread_local int declared_twice;
// CHECK-MESSAGES: :[[@LINE-1]]:25: warning: 'declared_twice' is thread_local: {{.*}}: it is declared more than once (extern) {{.*}} [sync-types]
thread_local int declared_twice = 3;

int seeded(int seed) {
  thread_local int from_parameter = seed;
  // CHECK-MESSAGES: :[[@LINE-1]]:20: warning: 'from_parameter' is thread_local: {{.*}}: its initializer uses 'seed', which a fiber's own copy cannot see {{.*}} [sync-types]
  return from_parameter;
}

#define BUMP() ++in_macro
thread_local int in_macro;
// CHECK-MESSAGES: :[[@LINE-1]]:18: warning: 'in_macro' is thread_local: {{.*}}: a use of it at line [[@LINE+1]] is inside a macro {{.*}} [sync-types]
int bump() { return BUMP(); }

thread_local int per_os_thread;  // NOBALROG(sync-types)
int use_kept() { return per_os_thread; }
// CHECK-FIXES: int use_kept() { return per_os_thread; }
