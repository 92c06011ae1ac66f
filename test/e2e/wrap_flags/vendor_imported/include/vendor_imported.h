// A vendored library reached through an IMPORTED target: a system header (its unused
// parameter would fail -Wextra -Werror otherwise), which balrog-gen must not rewrite.
#pragma once
#include <unistd.h>
inline int vendor_imported_nap(int unused) { return usleep(1); }
