#include "hub/hub_access.hpp"

namespace balrog::python {

hub& this_thread_hub() {
  if (hub* h = hub::current()) return *h;
  // The Python package owns each thread's hub (balrog/_hub.py keeps it in a thread-local, so
  // it is destroyed on its own thread when the thread ends).
  py::module_::import("balrog._hub").attr("get_hub")();
  hub* h = hub::current();
  if (h == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "balrog: could not make this thread's hub");
    throw py::error_already_set();
  }
  return *h;
}

}  // namespace balrog::python
