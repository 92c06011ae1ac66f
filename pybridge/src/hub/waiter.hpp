// One greenlet's wait, as the hub sees it.
//
// Waiters live on the heap (in a Python Waiter object, or in a native call's record), never on
// a greenlet's stack: greenlet moves a suspended greenlet's stack away (it copies stack slices
// to the heap and back), so anything the hub or the loop reaches while the greenlet sleeps must
// not point into its stack.
//
// States: idle -> waiting (hub::wait) -> ready (a wake claimed it: queued on the hub) -> idle
// (the greenlet resumed). The first claim wins: a wake, the own deadline, a throw.
#pragma once

#include <Python.h>

#include <cstdint>
#include <map>

#include "balrog/deadline.hpp"

namespace balrog::python {

class hub;
struct waiter;
struct timer;

using timer_map = std::multimap<clock::time_point, timer*>;

// An entry of the hub's timers: either a wait's own deadline (`w`), or a throw into a greenlet
// (balrog.Timeout: `greenlet` and `exc`, strong references owned by the timer's owner).
struct timer {
  waiter* w = nullptr;
  PyObject* greenlet = nullptr;
  PyObject* exc = nullptr;
  timer_map::iterator slot{};
  bool armed = false;
};

struct waiter {
  enum class state : std::uint8_t { idle, waiting, ready };

  waiter() = default;
  waiter(const waiter&) = delete;
  waiter& operator=(const waiter&) = delete;
  ~waiter() {
    Py_XDECREF(value);
    Py_XDECREF(error);
  }

  state st = state::idle;
  bool timed_out = false;        // woken by its own deadline
  bool hub_owned = false;        // a start entry (spawn): the hub frees it after switching
  hub* owner = nullptr;          // the hub whose greenlet waits (set while waiting or ready)
  PyObject* greenlet = nullptr;  // strong reference while waiting or ready
  PyObject* value = nullptr;     // strong: the value the wake gave (Python-level wakes)
  PyObject* error = nullptr;     // strong: an exception instance to raise instead

  // The hub's ready queue (intrusive, doubly linked: a greenlet that leaves early unlinks).
  waiter* prev = nullptr;
  waiter* next = nullptr;
  bool queued = false;

  timer deadline{this};  // the wait's own deadline, while armed

  void take_value(PyObject* v) noexcept {
    Py_XDECREF(value);
    value = v;
  }
  void take_error(PyObject* e) noexcept {
    Py_XDECREF(error);
    error = e;
  }
};

}  // namespace balrog::python
