#include "offload/offload_pool.hpp"

#include <pthread.h>

#include <mutex>
#include <thread>

#include "balrog/errors.hpp"
#include "balrog/offload.hpp"

namespace balrog::detail {

namespace {

offload_pool* pool_instance = nullptr;  // never destroyed: see the header

}  // namespace

// The child of a fork() has none of the parent's threads, but a copy of the pool that counts
// them (and maybe a mutex one of them held): it starts over with an empty pool. Jobs queued or
// running in the parent are not the child's to finish; whoever waited on them there belongs to
// the parent's copy of the process too. (glibc's fork leaves malloc usable in the child.)
void offload_pool::start_over_in_child() noexcept {
  const std::size_t limit = pool_instance->max_threads_;  // the child's only thread reads it
  pool_instance = new offload_pool();
  pool_instance->max_threads_ = limit;
}

offload_pool& offload_pool::instance() {
  static offload_pool* const first = [] {
    pool_instance = new offload_pool();
    ::pthread_atfork(nullptr, nullptr, &start_over_in_child);
    return pool_instance;
  }();
  (void)first;
  return *pool_instance;
}

void offload_pool::submit(std::shared_ptr<offload_job> job) {
  std::unique_lock lk(mutex_);
  queue_.push_back(std::move(job));
  // Every queued job beyond the idle threads wants a thread of its own.
  if (queue_.size() <= idle_) {
    wake_.notify_one();
    return;
  }
  if (threads_ < max_threads_) {
    std::thread t(&offload_pool::worker, this);
    ::pthread_setname_np(t.native_handle(), "balrog-offload");
    t.detach();
    ++threads_;
  }
  // else: every thread is busy and the pool is full; the job waits its turn.
}

void offload_pool::set_max_threads(std::size_t n) {
  std::lock_guard lk(mutex_);
  max_threads_ = n;
}

void set_offload_max_threads(std::size_t n) { offload_pool::instance().set_max_threads(n); }

void offload_pool::worker() {
  std::unique_lock lk(mutex_);
  for (;;) {
    if (queue_.empty()) {
      ++idle_;
      wake_.wait(lk, [this] { return !queue_.empty(); });
      --idle_;
    }
    std::shared_ptr<offload_job> job = std::move(queue_.front());
    queue_.pop_front();
    lk.unlock();
    job->task->run();
    {
      std::lock_guard jl(job->lock);
      job->done = true;
      job->waiters.wake_all();
    }
    job.reset();
    lk.lock();
  }
}

void run_offloaded(std::shared_ptr<fiber_task> task) {
  auto job = std::make_shared<offload_job>(std::move(task));
  execution_context& self = current_context();
  // Fail before the job exists when no wait could succeed, so fn never runs for nothing.
  throw_if_interrupted(self);
  // N in the runtime review: the wait below is refused in coroutine code; refuse before the
  // job runs for nothing.
  refuse_in_coroutine(self, "balrog::offload");
  offload_pool::instance().submit(job);
  std::unique_lock lk(job->lock);
  while (!job->done) {
    waiter w(self);
    // On cancellation or a deadline this throws; the job runs on and its outcome is dropped.
    throw_if_failed(park_on(job->waiters, w, lk, deadline::never(), "offload"));
  }
}

}  // namespace balrog::detail
