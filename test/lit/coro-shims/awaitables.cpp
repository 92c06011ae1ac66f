// What counts as an awaitable: balrog::task<T>, an awaiter (await_ready/await_suspend/
// await_resume), a class with a member or non-member operator co_await. Not: references,
// pointers, const values, classes with only some of the awaiter members, plain values.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %balrog_gen --emit-shims %t/shims.hpp %s -- %balrog_std_flags -I %S 2>&1 \
// RUN:   | FileCheck %s --check-prefix=MESSAGES --allow-empty --implicit-check-not="{{warning|error}}:"
// RUN: FileCheck %s --input-file=%t/shims.hpp --implicit-check-not=nope
// RUN: clang++-16 -fsyntax-only %balrog_std_flags -I %S -include %t/shims.hpp -x c++ /dev/null
#pragma once

#include <coroutine>
#include <string>

#include "balrog/task.hpp"

namespace aw {
struct ready_int {
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) noexcept {}
  int await_resume() const noexcept { return 7; }
};
// CHECK: namespace aw::blocking {
ready_int seven();
// CHECK: inline int seven() { return balrog::await(aw::seven()); }

struct with_member {
  ready_int operator co_await() const noexcept { return {}; }
};
with_member member_co_await();
// CHECK: inline int member_co_await() { return balrog::await(aw::member_co_await()); }

struct with_free {};
ready_int operator co_await(with_free) noexcept;
with_free free_co_await();
// CHECK: inline int free_co_await() { return balrog::await(aw::free_co_await()); }

struct lvalue_only {
  ready_int operator co_await() & ;
};
lvalue_only nope_lvalue_only();

struct half_awaiter {
  bool await_ready();
  int await_resume();
};
half_awaiter nope_half();
ready_int* nope_pointer();
ready_int& nope_reference();
const ready_int nope_const();
int nope_int();
std::string nope_string();
balrog::task<int> task_by_value(), &nope_task_reference();
// CHECK: inline int task_by_value() { return balrog::await(aw::task_by_value()); }
// CHECK: }  // namespace aw::blocking
}  // namespace aw
// MESSAGES-NOT: {{.}}
