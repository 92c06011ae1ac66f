// The parts of balrog._native, each defined by its own file.
#pragma once

#include <pybind11/pybind11.h>

#include "balrog/python/api.hpp"

namespace balrog::python {

void define_hub(pybind11::module_& m);
void define_pg(pybind11::module_& m);
void define_http(pybind11::module_& m);
void define_wsgi(pybind11::module_& m);
void define_ws(pybind11::module_& m);

// Fills balrog._native (pybridge/src/module.cpp is only this call).
BALROG_PYTHON_API void define_native_module(pybind11::module_& m);

}  // namespace balrog::python
