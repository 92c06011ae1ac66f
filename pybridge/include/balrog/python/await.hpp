// balrog/python/await.hpp — calling balrog's C++ coroutines from Python greenlets.
//
//   // in a pybind11 module built with balrog_python_add_module() (docs/python.md)
//   m.def("fetch_count", [](std::string table) {
//     return balrog::python::await_task(count_rows(std::move(table)));  // task<long>
//   });
//
// await_task(t) starts `t` as a coroutine task on the calling thread's hub (its balrog event
// loop) and switches the calling greenlet to the hub until the task has finished; other
// greenlets, tasks and fibers run meanwhile. Python frames never run on balrog's stacks: the
// task runs on the loop (with the GIL released) and its completion only marks the greenlet
// ready; the hub switches back to it on the thread's own stack. Returns t's value or rethrows
// its exception (pybind11 turns balrog's exceptions into Python's: see docs/python.md).
//
// If the greenlet is interrupted while it waits — killed, its balrog.Timeout passes, Ctrl-C —
// the task is cancelled and left to unwind on its own (its result is dropped), and await_task
// throws pybind11::error_already_set with that exception. So `t` must own what it uses (take
// arguments by value, hold shared_ptrs), never refer to the caller's stack.
//
// Needs the GIL. Works in any greenlet of the thread, the main one included (a script, the
// REPL, a pdb prompt): there the hub runs until this call's result is ready. Calling it inside
// the hub itself (a signal handler, a hub callback) raises RuntimeError.
//
// await_fiber(fn) runs blocking-style C++ (balrog's fiber API, compat calls) on a fiber of the
// hub's loop the same way.
//
// call_in_hub(fn) is the other direction: C++ running on the loop (a fiber, a task) that needs
// Python — a server handing a request to a Python handler — queues `fn`, which the hub runs
// with the GIL, in the hub greenlet, after the loop's current turn. `fn` must not wait: to run
// Python code that waits, spawn a greenlet from it. Call it on the hub's thread (code on the
// loop is), without the GIL; `fn`'s captures must not copy Python objects there (hold them in
// a shared_ptr made with the GIL). Raises nothing: without a hub on this thread it returns
// false and drops `fn`.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "balrog/await.hpp"
#include "balrog/python/api.hpp"
#include "balrog/task.hpp"

namespace balrog::python {

namespace detail {

// What a greenlet waiting for a task shares with the task: owned by the task's coroutine
// frame, so it lives as long as the task (the greenlet may give up before the task ends).
class BALROG_PYTHON_API native_call_base {
 public:
  native_call_base() = default;
  native_call_base(const native_call_base&) = delete;
  native_call_base& operator=(const native_call_base&) = delete;
  ~native_call_base();

  // The task finished (on the loop, without the GIL): readies the waiting greenlet, unless it
  // gave up.
  void complete() noexcept;

 private:
  friend struct call_access;  // pybridge/src/hub/native_wait.cpp
  void* waiter_ = nullptr;    // the hub's record of the waiting greenlet; null: nobody waits
};

template <class T>
struct native_call : native_call_base {
  std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value;
  std::exception_ptr error;
};

template <class T>
task<void> drive(task<T> t, std::unique_ptr<native_call<T>> call) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(t);
      call->value.emplace(true);
    } else {
      call->value.emplace(co_await std::move(t));
    }
  } catch (...) {
    call->error = std::current_exception();
  }
  call->complete();
}

// The calling thread's hub, made on first use; raises RuntimeError inside the hub greenlet.
BALROG_PYTHON_API void prepare_to_wait();
// Switches to the hub until `call` completes. When the greenlet is interrupted, cancels the
// task, hands `handle` to the hub (it is dropped once the task has unwound) and throws
// pybind11::error_already_set.
BALROG_PYTHON_API void wait_for(native_call_base& call, task_handle<void>& handle);
BALROG_PYTHON_API bool call_in_hub(std::function<void()> fn);

// After wait_for returned: drops a finished task's handle, or lets the hub keep it until the
// task has unwound (a task that completed through a foreign awaitable finishes a bit later).
BALROG_PYTHON_API void release(task_handle<void>&& handle) noexcept;

}  // namespace detail

template <class T>
T await_task(task<T> t) {
  detail::prepare_to_wait();
  auto owned = std::make_unique<detail::native_call<T>>();
  detail::native_call<T>& call = *owned;
  task_handle<void> handle = spawn_task(detail::drive(std::move(t), std::move(owned)));
  detail::wait_for(call, handle);
  // The outcome lives in the task's frame, which the handle keeps: it is released only after
  // the value has been moved out (or the exception rethrown).
  struct release_at_exit {
    task_handle<void>& h;
    ~release_at_exit() { detail::release(std::move(h)); }
  } release{handle};
  if (call.error) std::rethrow_exception(call.error);
  if constexpr (!std::is_void_v<T>) return std::move(*call.value);
}

inline bool call_in_hub(std::function<void()> fn) { return detail::call_in_hub(std::move(fn)); }

template <class F>
std::invoke_result_t<std::decay_t<F>> await_fiber(F fn) {
  return await_task(on_fiber(std::move(fn)));
}

}  // namespace balrog::python
