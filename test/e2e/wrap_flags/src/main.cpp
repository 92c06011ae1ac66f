// usleep's declaration comes from the precompiled header (<unistd.h>), WRAP_FLAGS_NAP_US from
// "SHELL:-include forced.h", pch_value from the PCH's pch.h.
#include <cstdio>

#include "vendor_imported.h"
#include "vendor_system.h"

int main() {
  usleep(WRAP_FLAGS_NAP_US);
  std::printf("file=%s line=%d pch=%d naps=%d\n", __FILE__, __LINE__, pch_value(),
              vendor_imported_nap(0) + vendor_system_nap(0));
  return 0;
}
