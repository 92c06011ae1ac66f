#include "hub/greenlet_api.hpp"

#include <greenlet.h>
#include <pybind11/pybind11.h>

namespace balrog::python::greenlets {

namespace {

// pybind11 keeps a stack of its calls' argument keep-alive frames in one thread-local slot,
// shared by every pybind11 module of the process, and checks that they end in LIFO order.
// Greenlets interleave calls of different greenlets on one thread, so each greenlet keeps its
// own stack top: whoever switches away saves the slot and restores it once switched back.
#if PYBIND11_INTERNALS_VERSION == 4
auto& life_support_key() noexcept {
  return pybind11::detail::get_local_internals().loader_life_support_tls_key;
}
#else
auto& life_support_key() noexcept {
  return pybind11::detail::get_internals().loader_life_support_tls_key;
}
#endif

class life_support_slot {
 public:
  life_support_slot() noexcept : saved_(PYBIND11_TLS_GET_VALUE(life_support_key())) {}
  ~life_support_slot() { PYBIND11_TLS_REPLACE_VALUE(life_support_key(), saved_); }
  life_support_slot(const life_support_slot&) = delete;
  life_support_slot& operator=(const life_support_slot&) = delete;

 private:
  void* saved_;
};

}  // namespace

bool import_api() noexcept {
  if (_PyGreenlet_API != nullptr) return true;
  PyGreenlet_Import();
  return _PyGreenlet_API != nullptr;
}

PyObject* current() noexcept { return reinterpret_cast<PyObject*>(PyGreenlet_GetCurrent()); }

PyObject* create(PyObject* run, PyObject* parent) noexcept {
  return reinterpret_cast<PyObject*>(PyGreenlet_New(run, reinterpret_cast<PyGreenlet*>(parent)));
}

PyObject* switch_to(PyObject* g) noexcept {
  life_support_slot keep;
  return PyGreenlet_Switch(reinterpret_cast<PyGreenlet*>(g), nullptr, nullptr);
}

void release(PyObject* g) noexcept {
  if (g == nullptr) return;
  life_support_slot keep;
  Py_DECREF(g);
}

PyObject* throw_into(PyObject* g, PyObject* exc) noexcept {
  life_support_slot keep;
  return PyGreenlet_Throw(reinterpret_cast<PyGreenlet*>(g),
                          reinterpret_cast<PyObject*>(Py_TYPE(exc)), exc, nullptr);
}

PyObject* parent(PyObject* g) noexcept {
  PyObject* p = reinterpret_cast<PyObject*>(PyGreenlet_GetParent(reinterpret_cast<PyGreenlet*>(g)));
  if (p == nullptr) PyErr_Clear();  // "could return NULL even if there is no exception active"
  return p;
}

bool is_greenlet(PyObject* o) noexcept { return PyGreenlet_Check(o); }
bool started(PyObject* g) noexcept {
  return PyGreenlet_STARTED(reinterpret_cast<PyGreenlet*>(g)) != 0;
}
bool active(PyObject* g) noexcept {
  return PyGreenlet_ACTIVE(reinterpret_cast<PyGreenlet*>(g)) != 0;
}

PyObject* root() noexcept {
  PyObject* g = current();
  for (;;) {
    PyObject* p = parent(g);
    if (p == nullptr) break;
    Py_DECREF(g);
    g = p;
  }
  Py_DECREF(g);  // a thread's root greenlet lives as long as the thread
  return g;
}

PyObject* exit_type() noexcept { return PyExc_GreenletExit; }

}  // namespace balrog::python::greenlets
