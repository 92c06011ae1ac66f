// The process-wide pool behind balrog::offload.
//
// Deliberately never destroyed: a job may still be blocked in a system call at exit, and
// joining it would hang the process; the threads simply end with it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

#include "balrog/detail/spinlock.hpp"
#include "balrog/detail/wait_queue.hpp"
#include "balrog/fiber.hpp"
#include "balrog/offload.hpp"

namespace balrog::detail {

// One offloaded call, shared by the waiting context and the pool thread that runs it.
struct offload_job {
  explicit offload_job(std::shared_ptr<fiber_task> t) noexcept : task(std::move(t)) {}
  std::shared_ptr<fiber_task> task;
  spinlock lock;
  bool done = false;
  wait_queue waiters;  // the caller, while it waits
};

// runtime_options::offload_threads (process-wide).
void set_offload_max_threads(std::size_t n);

class offload_pool {
 public:
  static offload_pool& instance();
  void submit(std::shared_ptr<offload_job> job);
  // The most threads the pool grows to (runtime_options::offload_threads).
  void set_max_threads(std::size_t n);

 private:
  offload_pool() = default;
  static void start_over_in_child() noexcept;  // pthread_atfork
  void worker();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<offload_job>> queue_;
  std::size_t threads_ = 0;
  std::size_t idle_ = 0;
  std::size_t max_threads_ = offload_max_threads;
};

}  // namespace balrog::detail
