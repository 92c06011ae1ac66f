// balrog._native: a thin module over libbalrog_python.so, which holds the runtime, the drivers
// and the bindings (one copy per process, shared with modules built by balrog_python_add_module).
#include "bindings/bindings.hpp"

PYBIND11_MODULE(_native, m) { balrog::python::define_native_module(m); }
