// A header outside the header filter: its mutex stays a std::mutex.
#pragma once
#include <mutex>

struct vendored_conn {
  std::mutex lock;
  int fd = -1;
};
