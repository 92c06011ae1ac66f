// balrog/run_main.hpp — a program's main() on the runtime.
//
// balrog-gen's run-main pass (docs/passes/run-main.md) renames a program's `int main(...)` to
// balrog_user_main and writes, after it, the main() that calls it here:
//
//   int main(int argc, char** argv) {
//     return balrog::run_main([&] { return balrog_user_main(argc, argv); });
//   }
//
// run_main(fn) runs fn on the main fiber of a runtime that it creates on the calling thread,
// so a std::thread that the program starts (a balrog::thread after the sync-types pass) is a
// fiber of that thread, not an OS thread. It returns fn's value, the program's exit status,
// once fn and every fiber not detached have finished (balrog::run's rules: detached fibers
// still alive then are cancelled at their next suspension point, and waited for).
//
// It keeps what main() promises:
//  - the main fiber's stack is as large as the main thread's may grow (the soft RLIMIT_STACK,
//    8 MiB when unlimited; between 256 KiB and 1 GiB): a fiber stack costs address space, and
//    only the pages it touches;
//  - an exception that escapes fn ends the process with std::terminate where it is thrown,
//    as one escaping main() does (the other fibers do not run on, nothing is unwound);
//  - exit() and quick_exit() from any fiber end the process as they do from any thread.
//
// One shard by default: balrog::thread starts its fiber on its creator's shard, so the fibers
// of a program that only uses std::thread all run on one OS thread whatever the count. More
// shards (run_main_options::shards, the pass option `shards`) serve code that spreads its own
// work over them (balrog::spawn_on, balrog::per_shard_server).
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "balrog/fiber.hpp"
#include "balrog/runtime.hpp"

namespace balrog {

struct run_main_options {
  // Shards of the runtime (balrog::runtime_options::threads): 0 is one per CPU.
  std::size_t shards = 1;
};

namespace detail {
// The main fiber's options: named "main", with a stack the size of the main thread's limit.
fiber_options main_fiber_options();
}  // namespace detail

template <class F>
int run_main(F&& fn, run_main_options options = {}) {
  static_assert(std::is_convertible_v<std::invoke_result_t<F&>, int>,
                "balrog::run_main: the function must return the exit status (int)");
  // noexcept: an exception that escapes the program's main is std::terminate's, not the
  // runtime's (which would unwind the fiber and wait for the others before rethrowing).
  auto body = [&fn]() noexcept -> int { return fn(); };
  runtime rt({.threads = options.shards, .main = detail::main_fiber_options()});
  return rt.run(body);
}

}  // namespace balrog
