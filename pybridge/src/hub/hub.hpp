// The hub: one per thread, a greenlet that drives the thread's balrog event loop and switches
// to the greenlets whose waits are over (docs/python.md, "The hub").
//
// Who runs where:
//   - Python code runs in greenlets, always on the thread's own stack. A greenlet that waits
//     (hub::wait) switches to the hub greenlet.
//   - The hub greenlet switches, in FIFO order, to every greenlet that is ready, then runs one
//     turn of the balrog event loop with the GIL released (fibers, coroutine tasks, timers and
//     epoll), then fires its own timers and Python's signal handlers, and starts over.
//   - C++ work started from Python (native calls, balrog/python/await.hpp) runs as coroutine
//     tasks or fibers on that loop. Their completion only *claims* the waiting greenlet's
//     waiter (a pointer pushed on the ready queue, no Python API, no GIL); the hub switches to
//     the greenlet after the turn. No Python frame ever runs on a balrog stack.
//
// The ready queue, the timers and the waiter records are touched only on the hub's thread. Other
// threads wake a waiter through wake_from_any_thread(), which queues the request and wakes the
// loop's epoll.
#pragma once

#include <pybind11/pybind11.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "balrog/event_loop.hpp"
#include "balrog/task.hpp"
#include "hub/waiter.hpp"

namespace balrog::python {

namespace py = pybind11;

class hub {
 public:
  // Makes the calling thread's hub (GIL held). Throws RuntimeError when the thread has one, or
  // when the thread runs balrog::run or another event loop.
  hub();
  // Closes (see close()) on the thread the hub serves. Destroyed on another thread (the last
  // reference to the Python object dropped there), a hub that was not closed is leaked rather
  // than torn down from the wrong thread.
  ~hub();
  hub(const hub&) = delete;
  hub& operator=(const hub&) = delete;

  // Tears the hub down, on the thread it serves: cancels what runs on its loop and drains it,
  // and frees the thread for a new hub (balrog/_hub.py calls it when the thread ends). Every
  // later use raises RuntimeError. Idempotent; refused (RuntimeError) on another thread.
  void close();
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  // Raises RuntimeError if closed.
  void check_open() const;

  // The calling thread's hub, or null.
  static hub* current() noexcept;
  // Whether the hub that had `id` is still the calling thread's (a greenlet resumed after a
  // long sleep checks this before touching its hub).
  static bool still_current(std::uint64_t id) noexcept;
  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }

  // --- waiting (GIL held; any greenlet of this thread but the hub's) -----------------------
  // Binds `w` to the calling greenlet and makes it claimable: publish it where wakers find it
  // only after this. Raises RuntimeError in the hub greenlet.
  void prepare(waiter& w);
  // Switches to the hub until `w` is claimed or `until` passes; returns false on the deadline.
  // Raises (py::error_already_set) what is thrown into the greenlet meanwhile: kill(),
  // Timeout, KeyboardInterrupt, GreenletExit. `w` is idle again when it returns or raises.
  bool wait(waiter& w, std::optional<clock::time_point> until);
  // Lets every other ready greenlet run, and the loop take one turn, then returns.
  void yield_now();
  // A prepared waiter dropped without waiting (this thread): leaves the ready queue.
  void forget(waiter& w) noexcept;

  // --- waking (this thread) ----------------------------------------------------------------
  // Claims `w` if it is still waiting and queues its greenlet. No GIL needed: completions of
  // native calls use it inside the loop's turn. False if it was already claimed or idle.
  bool claim(waiter& w) noexcept;
  // From Python, any thread: claims `w` with an exception to raise (null: none). `keep_alive`
  // is the Python object owning `w`; a wake from another thread holds it until delivered.
  static bool wake(waiter& w, PyObject* keep_alive, PyObject* error);

  // Starts `greenlet` in a coming round (a new greenlet whose parent is the hub).
  void spawn(PyObject* greenlet);
  // Raises `exc` in `greenlet` at its current wait, or at its next one if it is not waiting
  // (or its wait was already claimed), or at once if it is the calling greenlet.
  void throw_into(PyObject* greenlet, PyObject* exc);
  // Drops a throw not yet delivered to `greenlet` (only `exc` itself, when given).
  void cancel_throw(PyObject* greenlet, PyObject* exc) noexcept;

  // Timers that throw into a greenlet (balrog.Timeout). The caller owns `t` and keeps it armed
  // no longer than it lives.
  void arm(timer& t, clock::time_point when);
  void disarm(timer& t) noexcept;

  // In a forked child: this hub and everything it knows belong to the parent's copy of the
  // process. Forgets the loop (event_loop::abandon_after_fork), frees the thread for a new hub,
  // and keeps every reference it holds forever, so none of the parent's greenlets or tasks
  // ever runs or unwinds here. The object must then be kept alive (and never used).
  void abandon_after_fork() noexcept;

  // C++ running on the loop (a fiber, a task, a completion) reaching into Python: `fn` runs in
  // the hub greenlet, with the GIL, after the current turn. It must not wait (it may spawn a
  // greenlet for work that waits); an exception it raises goes to error_handler. Callable
  // without the GIL, on the hub's thread only; captures must not own Python references unless
  // something keeps them alive until `fn` has run (a shared_ptr copy costs no refcount).
  void call_soon(std::function<void()> fn);

  // A native call's task that its greenlet gave up on: kept until it finishes.
  void adopt(task_handle<void>&& orphan);

  // The greenlet functions for a function of this hub run in (a hub greenlet that runs it).
  [[nodiscard]] PyObject* hub_greenlet() const noexcept { return hub_greenlet_; }
  [[nodiscard]] PyObject* main_greenlet() const noexcept { return main_greenlet_; }
  // The loop; raises RuntimeError once closed.
  [[nodiscard]] event_loop& loop() {
    check_open();
    return *loop_;
  }
  // Where Ctrl-C (KeyboardInterrupt and other signal handlers' exceptions) is raised: the main
  // greenlet unless set (IPython's cell greenlet). Null resets it.
  [[nodiscard]] PyObject* interrupt_target() const noexcept {
    return interrupt_target_ != nullptr ? interrupt_target_ : main_greenlet_;
  }
  void set_interrupt_target(PyObject* g) noexcept;
  // Python's handler for exceptions that escaped a greenlet the hub switched to (not a
  // balrog.Greenlet, which records its own), called as handler(greenlet, exc). None: print.
  py::object error_handler = py::none();

 private:
  void run();        // the hub greenlet's function
  void run_ready();  // one round of switches
  void turn();       // the loop's turn, then timers, cross-thread wakes, signals
  void fire_timers();
  void take_remote_wakes();
  void run_calls();
  void reap_orphans() noexcept;
  void deliver_signals();
  void handle_escaped(PyObject* greenlet);  // a switch returned with an exception set
  void push_ready(waiter& w) noexcept;
  waiter* pop_ready() noexcept;
  void unlink_ready(waiter& w) noexcept;
  void post_remote(waiter& w, PyObject* keep_alive, PyObject* error);
  bool take_pending_throw(PyObject* greenlet);  // sets the Python error when there was one
  // Python's signal wakeup fd (signal.set_wakeup_fd) on the main thread: the loop's wake-up
  // pipe, so a signal handled just before the turn sleeps still ends its wait. Chains and
  // restores the fd it replaced.
  void install_wakeup_fd();
  void restore_wakeup_fd() noexcept;

  const std::uint64_t id_;
  std::unique_ptr<event_loop> loop_;
  PyObject* hub_greenlet_ = nullptr;      // strong
  PyObject* main_greenlet_ = nullptr;     // borrowed: the thread's root greenlet
  PyObject* interrupt_target_ = nullptr;  // strong, or null: the main greenlet
  py::object run_function_;
  bool dying_ = false;
  bool abandoned_ = false;
  bool closed_ = false;
  std::thread::id thread_;
  int wakeup_fd_ = -1;           // the loop's, installed as Python's signal wakeup fd
  int previous_wakeup_fd_ = -1;  // what that replaced: chained, then restored by close()
  py::object set_wakeup_fd_;     // signal.set_wakeup_fd, kept for close() at shutdown

  waiter* ready_head_ = nullptr;
  waiter* ready_tail_ = nullptr;
  std::size_t ready_count_ = 0;

  timer_map timers_;
  std::unordered_map<PyObject*, waiter*> waiting_;           // greenlet -> its current wait
  std::unordered_map<PyObject*, PyObject*> pending_throws_;  // strong both
  std::vector<task_handle<void>> orphans_;
  std::vector<std::function<void()>> calls_;  // call_soon(), run after each turn

  struct remote_wake {
    PyObject* keep_alive;  // strong
    waiter* w;
    PyObject* error;  // strong or null
  };
  std::mutex remote_mutex_;
  std::vector<remote_wake> remote_;
  std::atomic<bool> remote_pending_{false};  // remote_ is not empty (checked without the lock)
};

}  // namespace balrog::python
