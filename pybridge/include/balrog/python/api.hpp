// balrog/python/api.hpp — what libbalrog_python.so exports.
//
// The bridge library is compiled with hidden visibility (pybind11's own types are hidden, and
// its internals are private to it); the declarations extension modules use are marked with
// BALROG_PYTHON_API. The runtime and the Postgres driver inside the library keep default
// visibility, so an extension module's C++ code and the bridge share one scheduler per thread.
#pragma once

#define BALROG_PYTHON_API __attribute__((visibility("default")))
