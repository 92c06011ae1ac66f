// A C file: map entries without a C twin (here a user's offload map without c-replacement:
// balrog::compat::offloaded<&f> is a C++ template; every built-in map entry has a C twin or is
// a report entry) are reported with the reason, never rewritten to C++; entries with one are
// rewritten. --report names the reason no-c-twin, and --check fails on them.
// RUN: printf 'library: my-offload\nheader: "<balrog/compat/offloaded.hpp>"\nfunctions:\n  - {name: "::fsync", kind: offload}\n  - {name: "::gethostbyaddr", kind: offload}\n' > %t.my-offload.yaml
// RUN: printf 'maps: [posix-net, %t.my-offload.yaml]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- -std=c11 -D_GNU_SOURCE -I%runtime_include
// RUN: clang-16 -x c -std=c11 -D_GNU_SOURCE -Wall -Werror -fsyntax-only -I%runtime_include %t.c
// RUN: %not %balrog_gen --config-file=%t.balrog.yaml --check --report %t.c -- -std=c11 -D_GNU_SOURCE -I%runtime_include > %t.report 2>/dev/null
// (The report runs on the rewritten file: the include moved the calls a line down.)
// RUN: %FileCheck %s --check-prefix=REPORT --input-file=%t.report

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>
// CHECK-FIXES: #include <balrog/compat/c/posix_net.h>
// CHECK-FIXES-NEXT: #include <netdb.h>

int save(int fd, char* buf) {
  fsync(fd);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'fsync' blocks the thread; not rewritten: this is a C file, and the my-offload map has no C twin for it (its twin 'balrog::compat::offloaded<&::fsync>' is C++; a map entry's c-replacement: names a C twin) [blocking-calls]
  // CHECK-FIXES: fsync(fd);
  gethostbyaddr(buf, 4, AF_INET);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'gethostbyaddr' blocks the thread; not rewritten: this is a C file, and the my-offload map has no C twin for it (its twin 'balrog::compat::offloaded<&::gethostbyaddr>' is C++; a map entry's c-replacement: names a C twin) [blocking-calls]
  // CHECK-FIXES: gethostbyaddr(buf, 4, AF_INET);
  return (int)recv(fd, buf, 4, 0);
  // CHECK-FIXES: return (int)balrog_recv(fd, buf, 4, 0);
}

// REPORT:      balrog-gen report: 2 blocking call(s) not rewritten
// REPORT-NEXT: {{.*}}.c:21:3: fsync [my-offload] no-c-twin: call to 'fsync' blocks the thread; not rewritten: this is a C file{{.*}}
// REPORT-NEXT: {{.*}}.c:24:3: gethostbyaddr [my-offload] no-c-twin: {{.*}}
