// balrog/python/export.hpp — marks C++ declarations for `balrog-gen --emit-py-bindings`
// (the py-bindings pass; balrog_python_module() in CMake runs it at build time).
//
//   #include "balrog/python/export.hpp"
//   namespace shop {
//   /// Looks up one order (a docstring in Python).
//   BALROG_EXPORT order find_order(std::int64_t id);   // runs on a fiber; the greenlet waits
//   struct BALROG_EXPORT order { std::int64_t id; std::string item; };
//   enum class BALROG_EXPORT status { open, shipped };
//   struct BALROG_EXPORT not_found : std::runtime_error { using runtime_error::runtime_error; };
//   }
//
// Only balrog-gen (a Clang tool) sees the mark; other compilers see nothing, so the header
// costs nothing in the library's own build. See docs/python.md.
#pragma once

#if defined(__clang__)
#define BALROG_EXPORT [[clang::annotate("balrog::export")]]
#else
#define BALROG_EXPORT
#endif
