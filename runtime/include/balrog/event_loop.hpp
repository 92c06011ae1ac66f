// balrog/event_loop.hpp — a shard driven by a host's loop, one turn at a time.
//
//   balrog::event_loop loop;                      // this thread's scheduler and reactor
//   auto t = balrog::spawn_task(fetch());         // runs during the turns below
//   while (!t.done()) loop.run_once(100ms);
//   int v = t.join();                             // finished: join does not wait
//
// balrog::run(fn) owns its thread until fn is done. A program with a loop of its own — the
// Python bridge's hub, a GUI toolkit, another event loop — keeps an event_loop on its thread
// instead and calls run_once() whenever balrog's fibers, tasks, timers and I/O should make
// progress. Between turns the thread belongs to the host: it may spawn fibers and tasks
// (balrog::spawn, balrog::spawn_task) and post callbacks; they run in a coming turn. What it
// must not do between turns is *wait* with balrog's blocking-style calls (join of an unfinished
// fiber, mutex::lock, this_fiber::sleep_for...): there they park the thread as in sync mode,
// and the loop that could wake it does not run. balrog::await throws usage_error there.
//
// Embedding in another poller: native_handle() is the reactor's epoll fd; it polls readable
// while an fd balrog waits on is ready or a wake-up is pending. Such a host waits on it (and
// until next_timer()) and calls run_once(0) when either fires or when has_ready() says work is
// queued.
//
// One scheduler per thread: an event_loop cannot share its thread with balrog::run, another
// event_loop or a runtime's shard. Fibers and tasks never leave the thread (as everywhere in
// balrog), so an event_loop is used only on the thread that made it, except for post() and
// wake().
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "balrog/deadline.hpp"

namespace balrog {

namespace detail {
class scheduler;
struct shard_table;
}  // namespace detail

class event_loop {
 public:
  // Makes the calling thread's scheduler and reactor. Throws usage_error when the thread
  // already has one (balrog::run, another event_loop), io_error when epoll cannot be set up.
  event_loop();
  // Cancels every fiber and task still alive on the loop and runs turns until they have
  // unwound (as balrog::run does with detached fibers), then frees the thread for another
  // scheduler. A fiber that ignores cancellation forever keeps the destructor waiting.
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  // One turn: takes wake-ups from other threads and posted callbacks, fires due timers and,
  // when nothing is ready, waits in epoll for up to `max_wait` (capped by the next timer;
  // zero: never waits; negative: no cap but the timers). Then runs every fiber and task that
  // is ready at that point; those they wake run in the next turn, so a turn ends even when
  // fibers keep waking each other. A signal interrupting the wait (EINTR) ends the turn early
  // (so the loop does not spin before it sleeps, as balrog::run's shards do: idle_spin_*).
  // Throws io_error when epoll itself fails.
  void run_once(clock::duration max_wait);

  // True when a fiber, task, remote wake-up or posted callback is queued: the next run_once
  // will not wait.
  [[nodiscard]] bool has_ready() const noexcept;
  // The earliest armed timer (sleeps, deadlines of waits), or deadline::never().
  [[nodiscard]] deadline next_timer() const noexcept;
  // Fibers and tasks started on this loop that have not finished.
  [[nodiscard]] std::size_t alive() const noexcept;

  // Runs `fn` on the loop's thread during a coming turn and wakes a waiting run_once. Any
  // thread. Returns false (and drops fn) once the loop is being destroyed.
  bool post(std::function<void()> fn);
  // Makes a waiting run_once return (or the next one not wait). Any thread; async-signal-safe.
  void wake() noexcept;

  // The reactor's epoll fd (see "Embedding" above). Owned by the loop.
  [[nodiscard]] int native_handle() const noexcept;

  // A wake-up fd for the host's signal handlers: the write end of a pipe the loop watches
  // (made on first call, non-blocking, close-on-exec, owned by the loop). A byte written to it
  // ends a waiting run_once, or makes the next one not wait, as wake() does; the loop reads
  // it. Made for CPython's signal.set_wakeup_fd: a signal handled after the host's last look
  // at its flags and before the turn sleeps would otherwise be seen only at the next wake-up.
  // This thread only. Throws io_error when the pipe cannot be made.
  [[nodiscard]] int wakeup_fd();
  // What the loop reads from the wake-up pipe it writes on to `fd` (-1: nowhere), in
  // non-blocking writes, dropping what does not fit: for a host that chains the wakeup fd
  // someone installed before it. This thread only.
  void forward_wakeups(int fd) noexcept;

  // In the child of a fork(): drops this loop without running anything — its fibers and tasks,
  // and the connections they use, belong to the parent's copy of the process. Closes the
  // child's copies of the reactor's fds, leaks the rest (the parent's memory image), and frees
  // the thread for a new event_loop. The object is inert afterwards: only destroy it.
  void abandon_after_fork() noexcept;

 private:
  // The loop is a runtime of one shard (this_shard::count() == 1, spawn_on(0, ...)), so
  // servers that open a listener per shard (the HTTP server) serve on it in fiber mode.
  // Declared first: it outlives the scheduler.
  std::unique_ptr<detail::shard_table> shards_;
  std::unique_ptr<detail::scheduler> s_;  // null once abandoned
};

}  // namespace balrog
