// Templates: function templates keep their template heads (constraints included), members
// of class templates become function templates over the class's parameters. What cannot be
// forwarded is skipped with a warning: C-style variadic functions, functions declared by a
// macro. A yield that depends on template arguments makes the shim return `auto`.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %balrog_gen --emit-shims %t/shims.hpp %s -- %balrog_std_flags -I %S 2>%t/stderr
// RUN: FileCheck %s --check-prefix=MESSAGES --input-file=%t/stderr --implicit-check-not="{{warning|error}}:"
// RUN: FileCheck %s --input-file=%t/shims.hpp
// RUN: clang++-16 -fsyntax-only %balrog_std_flags -I %S -include %t/shims.hpp -x c++ /dev/null
#pragma once

#include <concepts>
#include <coroutine>
#include <string>

#include "balrog/task.hpp"

namespace lib {
// CHECK: namespace lib::blocking {

template <class T>
balrog::task<T> async_parse(std::string text);
// CHECK: template <class T>
// CHECK-NEXT: T parse(std::string text) {
// CHECK-NEXT:   return balrog::await(lib::async_parse<T>(std::move(text)));

template <std::integral N>
balrog::task<N> async_twice(N n);
// CHECK: template <std::integral N>
// CHECK-NEXT: N twice(N n) {
// CHECK-NEXT:   return balrog::await(lib::async_twice<N>(std::move(n)));

balrog::task<int> async_sum(auto... xs);
// CHECK: int sum(auto... xs) { return balrog::await(lib::async_sum(std::move(xs)...)); }

template <class F>
balrog::task<int> async_call(F&& f);
// CHECK: template <class F>
// CHECK-NEXT: int call(F&& f) {
// CHECK-NEXT:   return balrog::await(lib::async_call<F>(std::forward<decltype(f)>(f)));

template <class T>
  requires std::copyable<T>
balrog::task<T> async_copy(const T& v);
// CHECK: template <class T>
// CHECK-NEXT:   requires std::copyable<T>
// CHECK-NEXT: T copy(const T& v) {

// A foreign coroutine type: what co_await yields is found through its awaiter.
template <class T>
struct future {
  struct awaiter {
    bool await_ready() const noexcept;
    void await_suspend(std::coroutine_handle<>) noexcept;
    T await_resume();
  };
  awaiter operator co_await() &&;
};
future<int> async_fetch(int id);
future<std::string> async_fetch_name(int id);
template <class T>
future<T> async_fetch_as(int id);
// CHECK: inline int fetch(int id) { return balrog::await(lib::async_fetch(id)); }
// CHECK: inline std::string fetch_name(int id) { return balrog::await(lib::async_fetch_name(id)); }
// CHECK: template <class T>
// CHECK-NEXT: auto fetch_as(int id) {
// CHECK-NEXT:   return balrog::await(lib::async_fetch_as<T>(id));

template <class T>
class box {
 public:
  using size_type = unsigned;
  static constexpr size_type npos = 0;
  balrog::task<T> async_get(size_type at = npos);
  template <class U>
  balrog::task<U> async_convert();
};
// CHECK: // Members of lib::box<T>
// CHECK: template <class T>
// CHECK-NEXT: T get(lib::box<T>& self, typename lib::box<T>::size_type at = lib::box<T>::npos) {
// CHECK-NEXT:   return balrog::await(self.async_get(at));
// CHECK: template <class T, class U>
// CHECK-NEXT: U convert(lib::box<T>& self) {
// CHECK-NEXT:   return balrog::await(self.template async_convert<U>());

// Skipped, with a warning.
balrog::task<void> async_printf(const char* format, ...);
// MESSAGES: templates.cpp:[[@LINE-1]]:20: warning: no blocking-style shim for 'lib::async_printf': C-style variadic functions cannot forward their arguments [coro-shims]
#define DECLARE_ASYNC(name) balrog::task<int> name()
DECLARE_ASYNC(async_from_macro);
// MESSAGES: templates.cpp:[[@LINE-1]]:1: warning: no blocking-style shim for 'lib::async_from_macro': it is declared by a macro [coro-shims]
// CHECK-NOT: printf
// CHECK-NOT: from_macro
}  // namespace lib
