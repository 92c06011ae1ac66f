// balrog::runtime: shards on threads (balrog/runtime.hpp).
#include "balrog/runtime.hpp"

#include <exception>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <pthread.h>

#include "balrog/errors.hpp"
#include "core/shard/scheduler.hpp"
#include "core/shard/shard_table.hpp"
#include "debug/registry.hpp"
#include "offload/offload_pool.hpp"

namespace balrog {

namespace detail {

namespace {

std::size_t shard_count_for(const runtime_options& o) {
  if (o.threads != 0) return o.threads;
  const unsigned cpus = std::thread::hardware_concurrency();
  return cpus == 0 ? 1 : cpus;
}

}  // namespace

namespace {

// The watchdog and dump_fibers read shard_index of registered schedulers under the registry
// lock (the scheduler registered itself when it was constructed).
void set_shard_index(scheduler& s, std::size_t i) {
  std::lock_guard lk(registry_mutex());
  s.shard_index = i;
}

void apply_process_wide(const runtime_options& o) {
  if (o.offload_threads != 0) set_offload_max_threads(o.offload_threads);
  if (o.watchdog) set_watchdog(*o.watchdog);
}

}  // namespace

void run_shards(fiber_task& main, const runtime_options& options) {
  const std::size_t n = shard_count_for(options);
  shard_table table;
  table.shards.assign(n, nullptr);
  apply_process_wide(options);
  scheduler s0(options.shard);  // throws usage_error when nested
  set_shard_index(s0, 0);
  s0.shards = &table;
  table.shards[0] = &s0;

  // Every scheduler lives until all shards stopped: shards post to each other until the end.
  // Start-up is all or nothing (K in the runtime review): a shard thread that cannot be
  // created, or a worker whose scheduler cannot be built (epoll_create1, eventfd), makes every
  // shard that did start leave before it runs, and run() throws the first such error.
  std::latch started(static_cast<std::ptrdiff_t>(n));
  std::latch finished(static_cast<std::ptrdiff_t>(n));
  std::mutex start_failure_lock;
  std::exception_ptr start_failure;  // written before its writer counts down `started`
  auto fail_start = [&](std::exception_ptr e) {
    std::lock_guard lk(start_failure_lock);
    if (!start_failure) start_failure = std::move(e);
  };
  std::vector<std::thread> workers;
  workers.reserve(n - 1);
  try {
    for (std::size_t i = 1; i < n; ++i) {
      workers.emplace_back([&table, &started, &finished, &options, &fail_start, &start_failure, i] {
        std::optional<scheduler> made;
        try {
          made.emplace(options.shard);
        } catch (...) {
          fail_start(std::current_exception());
          started.count_down();
          return;  // nobody waits for this shard: run() throws
        }
        scheduler& s = *made;
        s.keep_alive();
        set_shard_index(s, i);
        s.shards = &table;
        table.shards[i] = &s;
        started.count_down();
        started.wait();
        if (start_failure) return;  // read after the latch: every failure is in by now
        try {
          s.run();
        } catch (const std::exception& e) {
          std::fprintf(stderr, "balrog: shard %zu failed: %s\n", i, e.what());
          std::terminate();
        }
        finished.arrive_and_wait();
      });
    }
  } catch (const std::system_error& e) {  // std::thread could not start shard workers.size()+1
    fail_start(
        std::make_exception_ptr(io_error(e.code(), "balrog: cannot start the thread of shard " +
                                                       std::to_string(workers.size() + 1))));
    started.count_down(static_cast<std::ptrdiff_t>(n - 1 - workers.size()));  // never started
  } catch (...) {                                                             // std::bad_alloc
    fail_start(std::current_exception());
    started.count_down(static_cast<std::ptrdiff_t>(n - 1 - workers.size()));
  }
  started.count_down();
  started.wait();
  if (start_failure) {
    for (auto& w : workers) w.join();
    std::rethrow_exception(start_failure);
  }

  std::exception_ptr failure;
  try {
    // The main fiber's stack may not be mappable: the shards already run, so stop them first.
    fiber_context* f = s0.create_fiber(0, alignof(fiber_context), fiber_options(options.main));
    f->task = &main;  // owned by the caller of run(), not by the context
    s0.start(*f);
    s0.run();
  } catch (...) {
    failure = std::current_exception();
  }
  for (std::size_t i = 1; i < n; ++i) table.shards[i]->request_stop();
  finished.arrive_and_wait();
  for (auto& w : workers) w.join();
  if (failure) std::rethrow_exception(failure);
}

namespace {

// Sync mode's scheduler: one per thread, made by its first block_on and kept, idle and not
// current, between calls. It is made in the constructor, so every thread_local the
// scheduler's construction touches is constructed first and destroyed after it at thread exit.
struct sync_scheduler {
  shard_table table;
  std::unique_ptr<scheduler> s;

  sync_scheduler() {
    make();
    static const int registered = ::pthread_atfork(nullptr, nullptr, &forget_in_child);
    (void)registered;
    here = this;
  }
  void make() {
    s = std::make_unique<scheduler>();
    set_shard_index(*s, 0);
    table.shards.assign(1, s.get());
    s->shards = &table;
    s->leave_thread();
  }
  sync_scheduler(const sync_scheduler&) = delete;
  sync_scheduler& operator=(const sync_scheduler&) = delete;
  ~sync_scheduler() {
    here = nullptr;
    // exit() called on a block_on fiber destroys thread-locals on that fiber's stack: leave
    // the scheduler (and the stack) alone, as a balrog::run left on exit() is.
    if (s != nullptr && scheduler::current() == s.get()) (void)s.release();
  }

  // In a forked child the cached scheduler's epoll instance and eventfd are the parent's: the
  // forking thread (the child's only one) drops them and leaks the scheduler, unless it is
  // running it (a fork on a block_on fiber goes on with it, as with a private balrog::run).
  // Async-signal-safe: only close(2).
  static void forget_in_child() noexcept {
    if (here == nullptr || here->s == nullptr || scheduler::current() == here->s.get()) return;
    here->s->io().close_after_fork();
    (void)here->s.release();
  }

  static constinit thread_local sync_scheduler* here;
};

constinit thread_local sync_scheduler* sync_scheduler::here = nullptr;

}  // namespace

void run_sync(fiber_task& main, fiber_options options) {
  if (scheduler::current() != nullptr) {
    throw usage_error(
        "balrog::run: this thread already runs a balrog scheduler (balrog::run cannot nest)");
  }
  static thread_local sync_scheduler cache;
  if (cache.s == nullptr) cache.make();  // after a fork, or after a failed loop
  scheduler& s = *cache.s;
  s.return_to_thread();
  try {
    fiber_context* f = s.create_fiber(0, alignof(fiber_context), std::move(options));
    f->task = &main;  // owned by the caller, not by the context
    s.start(*f);
    s.run();
  } catch (...) {
    // The loop itself failed (or no fiber could be made): do not keep what it left behind
    // (balrog::run destroys its scheduler the same way).
    s.leave_thread();
    cache.s.reset();
    throw;
  }
  s.leave_thread();
}

fiber_slot prepare_fiber_on(std::size_t shard, std::size_t task_size, std::size_t task_align,
                            fiber_options options) {
  scheduler* here = scheduler::current();
  if (here == nullptr || here->shards == nullptr) {
    throw usage_error(
        "balrog::spawn_on: no balrog runtime runs on this thread; call it from code running "
        "inside balrog::run or balrog::runtime::run");
  }
  const std::size_t n = here->shards->shards.size();
  if (shard >= n) {
    throw usage_error("balrog::spawn_on: there is no shard " + std::to_string(shard) +
                      "; this runtime has " + std::to_string(n));
  }
  scheduler* target = here->shards->shards[shard];
  if (target == here) return prepare_fiber(task_size, task_align, std::move(options));
  // Another shard: allocate here, attach the stack there (stack pools belong to their shard).
  fiber_context* f = target->allocate_fiber(task_size, task_align, std::move(options));
  return {f, reinterpret_cast<char*>(f) + fiber_context::task_offset(task_align)};
}

}  // namespace detail

namespace this_shard {

std::size_t index() {
  const detail::scheduler* s = detail::scheduler::current();
  if (s == nullptr) throw usage_error("balrog::this_shard::index: not inside a balrog runtime");
  return s->shard_index;
}

std::size_t count() noexcept {
  const detail::scheduler* s = detail::scheduler::current();
  return s != nullptr && s->shards != nullptr ? s->shards->shards.size() : 0;
}

}  // namespace this_shard

}  // namespace balrog
