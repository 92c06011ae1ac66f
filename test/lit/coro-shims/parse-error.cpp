// A header that does not parse: exit 2, the errors reported, no file written (an existing
// output is left as it was, and no temporary file is left beside it).
// RUN: rm -rf %t && mkdir -p %t
// RUN: %balrog_gen --emit-shims %t/shims.hpp %s -- %balrog_std_flags 2>%t/stderr; test $? = 2
// RUN: FileCheck %s --input-file=%t/stderr
// RUN: test ! -e %t/shims.hpp
// RUN: echo "// committed" > %t/shims.hpp
// RUN: %balrog_gen --emit-shims %t/shims.hpp %s -- %balrog_std_flags 2>/dev/null; test $? = 2
// RUN: FileCheck %s --check-prefix=KEPT --input-file=%t/shims.hpp
// RUN: ls %t | FileCheck %s --check-prefix=NO-TEMP --implicit-check-not=balrog-gen
#pragma once

#include "balrog/task.hpp"

balrog::task<int> fine();
balrog::task<int> broken(undeclared_type x);
// CHECK: parse-error.cpp:[[@LINE-1]]:26: error: unknown type name 'undeclared_type'
// CHECK: parse-error.cpp{{.*}}: error: 1 error(s) while parsing: no shims were written
// KEPT: // committed
// NO-TEMP: shims.hpp
