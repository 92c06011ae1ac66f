// Recursion that uses about 1 KiB of stack per level and that the optimizer cannot turn into
// a loop or elide: the stack tests use it to fill a fiber's stack to a chosen depth.
#pragma once

#include <cstring>

namespace balrog::test {

[[gnu::noinline]] inline int recurse(volatile char* prev, int depth) {
  volatile char frame[1024];
  std::memset(const_cast<char*>(frame), depth & 0xff, sizeof frame);
  frame[0] = prev != nullptr ? prev[0] : 0;
  if (depth == 0) return frame[0];
  return recurse(frame, depth - 1) + frame[1];
}

}  // namespace balrog::test
