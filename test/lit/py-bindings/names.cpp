// Two exported declarations that would have one Python name (overloads, or the same name in
// two namespaces) are an error: nothing is written. A parse error writes nothing either.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %balrog_gen --emit-py-bindings %t/m.cpp --py-module m %s -- %balrog_std_flags -I %S/../../../pybridge/include 2>%t/stderr; test $? = 2
// RUN: FileCheck %s --input-file=%t/stderr
// RUN: test ! -e %t/m.cpp
// RUN: not %balrog_gen --emit-py-bindings %t/m.cpp --py-module m %s -- %balrog_std_flags -I %S/../../../pybridge/include -DBROKEN 2>&1 | FileCheck %s --check-prefix=BROKEN
// RUN: test ! -e %t/m.cpp
// RUN: not %balrog_gen --emit-py-bindings %t/m.cpp --py-module 1bad %s -- %balrog_std_flags 2>&1 | FileCheck %s --check-prefix=MODULE
#pragma once

#include "balrog/python/export.hpp"

namespace a {
BALROG_EXPORT int twice(int x);
}
namespace b {
BALROG_EXPORT int twice(int x);
}
// CHECK: error: '::b::twice' and '::a::twice' would both be 'twice' in the Python module
#ifdef BROKEN
BALROG_EXPORT undeclared broken();
// BROKEN: error: unknown type name 'undeclared'
// BROKEN: error: 1 error(s) while parsing: no bindings were written
#endif
// MODULE: error: --py-module: give the module's name, a Python identifier (got '1bad')
