// C++ exceptions to Python's (docs/python.md, "Errors"). Registered once, for every pybind11
// module of the process (the bridge's and the ones built with balrog_python_add_module).
#pragma once

#include <pybind11/pybind11.h>

namespace balrog::python {

void register_error_translators(pybind11::module_& m);

}  // namespace balrog::python
