// --emit-py-bindings: the py-bindings pass's output mode. Reads the declarations marked
// BALROG_EXPORT in the given headers and writes a pybind11 module source and, with
// --emit-pyi, its .pyi stub (see passes/py-bindings/README.md).
#pragma once

#include <clang/Tooling/ArgumentsAdjusters.h>
#include <clang/Tooling/CompilationDatabase.h>

#include <string>
#include <vector>

#include "output.hpp"

namespace balrog::gen {

struct py_bindings_request {
  std::string module_name;  // --py-module
  std::string cpp_path;     // --emit-py-bindings
  std::string pyi_path;     // --emit-pyi (optional)
};

// Returns the process exit status (0 written, 2 parse, unsupported declaration or write error:
// then nothing is written).
int run_emit_py_bindings(const clang::tooling::CompilationDatabase& db,
                         const std::vector<std::string>& headers, const py_bindings_request& req,
                         const clang::tooling::ArgumentsAdjuster& extra_args,
                         const std::string& resource_dir, const diagnostic_printer& printer);

}  // namespace balrog::gen
