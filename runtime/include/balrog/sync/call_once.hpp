// balrog/sync/call_once.hpp — std::once_flag and std::call_once twins whose waiters are fibers.
//
// call_once(flag, f, args...) runs f once per flag, as std::call_once does: the first caller
// runs it while later callers wait for it to finish, and an exception from f leaves the flag
// unset (the next caller tries again). A caller that waits suspends its fiber instead of
// blocking its thread: with std::call_once, a fiber that waits while the running f suspends on
// the same shard would hang the shard. Works on fibers, plain threads and across shards.
// balrog-gen's sync-types pass rewrites std::once_flag and std::call_once to these.
//
// The wait is a suspension point: balrog::cancelled, balrog::timeout_error from an enclosing
// deadline_scope (the caller then returns by that exception without f having run for it).
// Differences from std: once_flag's constructor is not constexpr; f calling call_once on its
// own flag throws balrog::usage_error (the standard calls it a deadlock).
//
// call_once(std::once_flag&, ...) is std::call_once, so that a call rewritten to balrog's keeps
// compiling with a flag that was kept a std::once_flag (NOBALROG); it blocks as std's does.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <utility>

#include "balrog/sync/mutex.hpp"

namespace balrog {

class once_flag {
 public:
  once_flag() noexcept = default;
  once_flag(const once_flag&) = delete;
  once_flag& operator=(const once_flag&) = delete;

 private:
  template <class F, class... Args>
  friend void call_once(once_flag& flag, F&& f, Args&&... args);

  std::atomic<bool> done_{false};
  mutex running_;
};

template <class F, class... Args>
void call_once(once_flag& flag, F&& f, Args&&... args) {
  if (flag.done_.load(std::memory_order_acquire)) return;
  std::lock_guard lk(flag.running_);  // suspends while another caller runs f
  if (flag.done_.load(std::memory_order_relaxed)) return;
  std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  flag.done_.store(true, std::memory_order_release);
}

template <class F, class... Args>
void call_once(std::once_flag& flag, F&& f, Args&&... args) {
  std::call_once(flag, std::forward<F>(f), std::forward<Args>(args)...);
}

}  // namespace balrog
