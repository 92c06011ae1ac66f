// A third-party header found through -isystem: never edited, never reported on.
#pragma once
#include <mutex>

namespace legacy {
struct pool {
  std::mutex m;
};
using lock_type = std::mutex;
inline void touch(std::mutex& m) { std::lock_guard<std::mutex> g(m); }
}  // namespace legacy

#define LEGACY_MUTEX std::mutex
