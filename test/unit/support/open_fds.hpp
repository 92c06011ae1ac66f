// The number of file descriptors the test process has open (entries of /proc/self/fd, the
// directory's own included): tests compare it before and after to catch leaked fds.
#pragma once

#include <dirent.h>

#include <cstddef>

namespace balrog::test {

inline std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n;
}

}  // namespace balrog::test
