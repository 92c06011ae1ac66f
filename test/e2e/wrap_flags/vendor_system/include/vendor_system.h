// A library whose include directory is INTERFACE_SYSTEM_INCLUDE_DIRECTORIES: a system header
// (its unused parameter would fail -Wextra -Werror otherwise), which balrog-gen must not
// rewrite.
#pragma once
#include <unistd.h>
inline int vendor_system_nap(int unused) { return usleep(1); }
