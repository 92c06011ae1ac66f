// Shims that cannot be written as asked are errors, and nothing is written: two functions
// whose shims would be one function (async_get and get in one namespace), and a shim that
// would redeclare an existing function. // NOBALROG(coro-shims) on a declaration skips it.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %balrog_gen --emit-shims %t/shims.hpp %s -- %balrog_std_flags -DCOLLIDE 2>%t/stderr; test $? = 2
// RUN: FileCheck %s --check-prefix=COLLIDE --input-file=%t/stderr --implicit-check-not="{{warning|error}}:"
// RUN: %balrog_gen --emit-shims %t/shims.hpp %s -- %balrog_std_flags -DREDECLARE 2>%t/stderr; test $? = 2
// RUN: FileCheck %s --check-prefix=REDECLARE --input-file=%t/stderr --implicit-check-not="{{warning|error}}:"
// RUN: test ! -e %t/shims.hpp
// RUN: %balrog_gen --emit-shims %t/shims.hpp %s -- %balrog_std_flags -DCOLLIDE -DREDECLARE -DSKIP 2>&1 \
// RUN:   | FileCheck %s --check-prefix=SKIPPED --allow-empty --implicit-check-not="{{warning|error}}:"
// RUN: FileCheck %s --check-prefix=SHIMS --input-file=%t/shims.hpp
#pragma once

#include "balrog/task.hpp"

namespace n {
balrog::task<int> async_get(int key);
#if defined(COLLIDE) && defined(SKIP)
balrog::task<int> get(int key);  // NOBALROG(coro-shims)
#elif defined(COLLIDE)
balrog::task<int> get(int key);
// COLLIDE: collisions.cpp:[[@LINE-1]]:19: error: the blocking-style shim of 'n::get' would be the same function as the shim of 'n::async_get' ({{.*}}collisions.cpp:[[@LINE-5]]:19): 'n::blocking::get(int key)'; rename one, or skip one with // NOBALROG(coro-shims)
#endif

namespace blocking {
int ping();
}
#if defined(REDECLARE) && defined(SKIP)
// NOBALROGNEXTLINE(coro-shims)
balrog::task<int> async_ping();
#elif defined(REDECLARE)
balrog::task<int> async_ping();
// REDECLARE: collisions.cpp:[[@LINE-1]]:19: error: the blocking-style shim of 'n::async_ping' would redeclare 'n::blocking::ping' in namespace 'n::blocking': choose another --shims-namespace, or skip it with // NOBALROG(coro-shims)
#endif
}  // namespace n
// SKIPPED-NOT: {{.}}
// SHIMS: inline int get(int key) { return balrog::await(n::async_get(key)); }
// SHIMS-NOT: ping
