// What py-bindings cannot bind is an error naming the declaration and the type, and then
// nothing is written (an existing output is left as it was). Defaults are a warning.
// RUN: rm -rf %t && mkdir -p %t
// RUN: echo "// kept" > %t/m.cpp
// RUN: %balrog_gen --emit-py-bindings %t/m.cpp --emit-pyi %t/m.pyi --py-module m %s -- %balrog_std_flags -I %S/../../../pybridge/include 2>%t/stderr; test $? = 2
// RUN: FileCheck %s --input-file=%t/stderr
// RUN: FileCheck %s --check-prefix=KEPT --input-file=%t/m.cpp
// RUN: test ! -e %t/m.pyi
#pragma once

#include <list>
#include <memory>
#include <string>

#include "balrog/python/export.hpp"

namespace bad {
struct plain {
  int x;
};
enum class mood { ok };

BALROG_EXPORT void by_pointer(int* p);
// CHECK: unsupported.cpp:[[@LINE-1]]:36: error: parameter 'p' of 'bad::by_pointer' has unsupported type 'int *': pointers and references have no owner on the Python side (use values) [py-bindings]
BALROG_EXPORT void out_param(std::string& s);
// CHECK: unsupported.cpp:[[@LINE-1]]:43: error: parameter 's' of 'bad::out_param' has type 'std::string &': a non-const reference cannot be passed from Python
BALROG_EXPORT plain not_exported();
// CHECK: unsupported.cpp:[[@LINE-1]]:21: error: 'bad::not_exported' returns unsupported type 'bad::plain': 'bad::plain' is not exported (mark it BALROG_EXPORT) and not a supported standard type [py-bindings]
BALROG_EXPORT void feel(mood m);
// CHECK: error: parameter 'm' of 'bad::feel' has unsupported type 'bad::mood': enum 'bad::mood' is not exported (mark it BALROG_EXPORT)
BALROG_EXPORT std::list<int> listed();
// CHECK: error: 'bad::listed' returns unsupported type 'std::list<int>': 'std::list' is not exported
BALROG_EXPORT void shared(std::shared_ptr<int> p);
// CHECK: error: parameter 'p' of 'bad::shared' has unsupported type 'std::shared_ptr<int>'
BALROG_EXPORT void letter(char c);
// CHECK: error: parameter 'c' of 'bad::letter' has unsupported type 'char': character types are ambiguous
BALROG_EXPORT void with_default(int n = 3);
// CHECK: warning: the default argument of parameter 'n' of 'bad::with_default' is not carried to Python

// Members are checked before fields.
struct BALROG_EXPORT holder {
  int* raw;
  BALROG_EXPORT void method();
  // CHECK: error: 'bad::holder::method' is a member function: py-bindings does not export member functions yet
  // CHECK: error: field 'raw' of 'bad::holder' has unsupported type 'int *'
};

template <class T>
BALROG_EXPORT T identity(T t);
// CHECK: error: 'bad::identity' is a function template

BALROG_EXPORT void lambda(int from);
// CHECK: error: 'bad::lambda': 'lambda' is a Python keyword
// CHECK: error: 'from': 'from' is a Python keyword
}  // namespace bad
// CHECK: m.cpp: error: no bindings were written (see the errors above) [py-bindings]
// KEPT: // kept
