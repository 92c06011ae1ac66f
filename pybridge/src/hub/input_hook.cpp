// The REPL reads a line through readline (or fgets), and calls PyOS_InputHook while it waits
// for the terminal: readline every 0.1 s and after each select() on stdin. The hook waits for
// stdin to become readable *in the hub*, so the thread's greenlets, tasks and timers run while
// the prompt is idle; it returns as soon as there is input, which the REPL then reads.
//
// Ctrl-C at an idle prompt: the hub's signal check runs Python's SIGINT handler, whose
// KeyboardInterrupt ends the hook's wait. readline only looks at signals when its own select()
// is interrupted, and calls the hook once more before it does, so the hook has SIGINT sent to
// this thread again shortly after it returned and, meanwhile, returns at once instead of
// waiting: readline's select() gets EINTR and readline cancels the line as it always does.
#include "hub/input_hook.hpp"

#include <Python.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "balrog/deadline.hpp"
#include "balrog/io.hpp"
#include "balrog/python/await.hpp"
#include "hub/hub.hpp"

namespace balrog::python {

namespace {

thread_local bool inside_hook = false;
// Until then the hook does not wait: a SIGINT for readline is on its way.
thread_local std::chrono::steady_clock::time_point resignalled_until{};

task<void> stdin_readable(int fd) { co_await readable(fd); }

void interrupt_readline_later() {
  resignalled_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  std::thread([target = ::pthread_self()] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ::pthread_kill(target, SIGINT);
  }).detach();
}

int input_hook() {
  PyGILState_STATE gil = PyGILState_Ensure();
  if (hub::current() != nullptr && !inside_hook &&
      std::chrono::steady_clock::now() >= resignalled_until) {
    inside_hook = true;
    try {
      await_task(stdin_readable(::fileno(stdin)));
    } catch (py::error_already_set& e) {
      if (e.matches(PyExc_KeyboardInterrupt)) {
        interrupt_readline_later();
      } else {
        e.discard_as_unraisable("balrog's input hook");
      }
    } catch (const std::exception& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
      PyErr_WriteUnraisable(nullptr);
    }
    inside_hook = false;
  }
  PyGILState_Release(gil);
  return 0;
}

}  // namespace

bool install_input_hook() noexcept {
  if (PyOS_InputHook == nullptr) PyOS_InputHook = &input_hook;
  return PyOS_InputHook == &input_hook;
}

void uninstall_input_hook() noexcept {
  if (PyOS_InputHook == &input_hook) PyOS_InputHook = nullptr;
}

}  // namespace balrog::python
