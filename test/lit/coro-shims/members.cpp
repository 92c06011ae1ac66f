// Member functions: a free function taking the object first (const and && objects as the
// member's qualifiers say); static members: a free function. Non-public members get none.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %balrog_gen --emit-shims %t/shims.hpp %s -- %balrog_std_flags -I %S 2>&1 \
// RUN:   | FileCheck %s --check-prefix=MESSAGES --allow-empty --implicit-check-not="{{warning|error}}:"
// RUN: FileCheck %s --input-file=%t/shims.hpp
// RUN: clang++-16 -fsyntax-only %balrog_std_flags -I %S -include %t/shims.hpp -x c++ /dev/null
#pragma once

#include <string>

#include "balrog/deadline.hpp"
#include "balrog/task.hpp"

namespace db {
struct result {
  int rows = 0;
};

class connection {
 public:
  // CHECK: namespace db::blocking {
  // CHECK-EMPTY:
  // CHECK-NEXT: // Members of db::connection
  balrog::task<result> async_query(std::string sql) const;
  // CHECK: inline db::result query(const db::connection& self, std::string sql) {
  // CHECK-NEXT:   return balrog::await(self.async_query(std::move(sql)));
  // CHECK-NEXT: }
  balrog::task<void> async_close() &&;
  // CHECK: inline void close(db::connection&& self) { balrog::await(std::move(self).async_close()); }

  // A default argument that names a private member cannot be repeated: one shim per arity
  // lets the member supply it.
  balrog::task<int> async_retry(int n = limit);
  // CHECK: inline int retry(db::connection& self, int n) { return balrog::await(self.async_retry(n)); }
  // CHECK: inline int retry(db::connection& self) { return balrog::await(self.async_retry()); }

  // A public default is repeated, qualified with the class.
  balrog::task<int> async_wait(balrog::deadline until = default_deadline());
  static balrog::deadline default_deadline();
  // CHECK: inline int wait(db::connection& self, balrog::deadline until = db::connection::default_deadline()) {

  // A parameter called `self` pushes the object's name aside.
  balrog::task<void> async_adopt(connection& self);
  // CHECK: inline void adopt(db::connection& self_, db::connection& self) {
  // CHECK-NEXT:   balrog::await(self_.async_adopt(self));

  // CHECK: // Static members of db::connection
  static balrog::task<connection> async_open(std::string conninfo);
  // CHECK: inline db::connection open(std::string conninfo) {
  // CHECK-NEXT:   return balrog::await(db::connection::async_open(std::move(conninfo)));

  // Not awaitables: no shims.
  int sync_size() const;
  connection() = default;
  // CHECK-NOT: sync_size

 protected:
  balrog::task<int> async_protected_op();

 private:
  static constexpr int limit = 4;
  balrog::task<int> async_private_op();
  // CHECK-NOT: protected_op
  // CHECK-NOT: private_op
};

// Members of nested classes, and of classes that inherit awaitable-returning members (only the
// class that declares a member gets its shim: it takes the derived class too).
struct outer {
  struct cursor {
    balrog::task<bool> async_next();
  };
};
// CHECK: // Members of db::outer::cursor
// CHECK: inline bool next(db::outer::cursor& self) { return balrog::await(self.async_next()); }
struct special_cursor : outer::cursor {};
// CHECK-NOT: special_cursor
// CHECK: }  // namespace db::blocking
}  // namespace db

// MESSAGES-NOT: {{.}}
