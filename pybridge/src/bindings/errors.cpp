#include "bindings/errors.hpp"

#include <exception>
#include <new>

#include "balrog/errors.hpp"

namespace balrog::python {

namespace py = pybind11;

namespace {

// OSError(errno, message) builds the subclass that fits errno (ConnectionRefusedError,
// ConnectionResetError, TimeoutError...), as the os module's own calls do.
void set_os_error(const io_error& e) {
  py::object err = py::reinterpret_steal<py::object>(
      PyObject_CallFunction(PyExc_OSError, "is", e.code().value(), e.what()));
  if (!err) return;  // the call failed: its own error is set
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(err.ptr())), err.ptr());
}

}  // namespace

void register_error_translators(py::module_& m) {
  static py::exception<cancelled> cancelled_type(m, "CancelledError", PyExc_Exception);
  py::register_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    try {
      std::rethrow_exception(p);
    } catch (const timeout_error& e) {
      PyErr_SetString(PyExc_TimeoutError, e.what());
    } catch (const cancelled& e) {
      PyErr_SetString(cancelled_type.ptr(), e.what());
    } catch (const io_error& e) {
      set_os_error(e);
    } catch (const usage_error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
    // Anything else goes on to pybind11's own translators (std::exception -> RuntimeError,
    // std::bad_alloc -> MemoryError, an unknown type -> RuntimeError): never a crash.
  });
}

}  // namespace balrog::python
