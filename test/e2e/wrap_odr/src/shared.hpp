#pragma once
#include <mutex>
struct shared {
  std::mutex m;
};
