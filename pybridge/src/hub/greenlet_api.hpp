// The greenlet C API (greenlet.h), imported once per process.
//
// greenlet.h defines its function table as a static variable in every file that includes it;
// only greenlet_api.cpp includes it, and everything else calls these wrappers. All of them need
// the GIL. References follow CPython's conventions (new references are said so).
#pragma once

#include <Python.h>

namespace balrog::python::greenlets {

// Imports greenlet's C API; raises (returns false with a Python error set) when greenlet is
// missing. Idempotent.
bool import_api() noexcept;

// greenlet.getcurrent(): a new reference.
PyObject* current() noexcept;
// greenlet.greenlet(run, parent): a new reference, or null with an error set.
PyObject* create(PyObject* run, PyObject* parent) noexcept;
// g.switch(): the value switched back with (new reference), or null with an error set.
PyObject* switch_to(PyObject* g) noexcept;
// Drops a reference to a greenlet. If it was the last one and g is suspended, greenlet kills
// it (GreenletExit), which switches to it and back: done like switch_to, so the switch does
// not disturb pybind11's per-call state of the calling greenlet.
void release(PyObject* g) noexcept;
// g.throw(exc): raises `exc` (an exception instance) in g at its switch point.
PyObject* throw_into(PyObject* g, PyObject* exc) noexcept;
// g.parent: a new reference, or null for a root greenlet.
PyObject* parent(PyObject* g) noexcept;
bool is_greenlet(PyObject* o) noexcept;
bool started(PyObject* g) noexcept;
bool active(PyObject* g) noexcept;  // started and not finished
// The root greenlet of the calling thread (a borrowed reference, valid while the thread lives).
PyObject* root() noexcept;
// greenlet.GreenletExit
PyObject* exit_type() noexcept;

}  // namespace balrog::python::greenlets
