// py-bindings: a pybind11 module and its .pyi stub for the declarations marked BALROG_EXPORT.
// See README.md beside this file and the last section of docs/python.md.
//
// This pass does not rewrite files (its registry entry has no `make`): balrog-gen's
// --emit-py-bindings mode (tool/src/pybind/) parses each input header, calls collect() on it,
// and writes render_module()'s and render_stub()'s text. Exported blocking-style functions run
// on a balrog fiber (balrog::python::await_fiber) and coroutine functions (returning
// balrog::task<T>) as a task (balrog::python::await_task) while the calling greenlet waits in
// the hub; a coroutine function also gets an `<name>_async` twin for asyncio
// (balrog.run_sync).
#pragma once

#include <clang/AST/ASTContext.h>

#include <functional>
#include <string>
#include <vector>

#include "pass.hpp"

namespace balrog::gen::py_bindings {

inline constexpr const char* pass_name = "py-bindings";
// What BALROG_EXPORT expands to (balrog/python/export.hpp): [[clang::annotate("balrog::export")]].
inline constexpr const char* export_annotation = "balrog::export";

struct message {
  std::string file;
  unsigned line = 0;
  unsigned column = 0;
  severity level = severity::error;
  std::string text;
};

// A C++ type as the module sees it.
struct type_text {
  std::string cxx;     // the type the binding's lambda takes or returns ("std::string")
  std::string python;  // its annotation in the stub ("str", "list[int]", "Point | None")
};

struct parameter {
  std::string name;                 // Python name (the C++ one, or argN)
  type_text type;                   // by value: the binding owns it while the fiber runs
  bool by_value_in_callee = false;  // the callee takes it by value (std::move it there)
};

struct function {
  std::string name;       // Python name
  std::string qualified;  // "::ns::f", what the binding calls
  std::vector<parameter> params;
  type_text result;        // "void"/"None" for none
  bool coroutine = false;  // returns balrog::task<T>
  std::string doc;
};

struct field {
  std::string name;
  type_text type;
  std::string doc;
};

struct record {
  std::string name;
  std::string qualified;
  std::vector<field> fields;
  bool default_constructible = false;
  bool aggregate = false;
  std::string doc;
};

struct enumeration {
  std::string name;
  std::string qualified;
  std::vector<std::string> values;
  std::string doc;
};

struct exception {
  std::string name;
  std::string qualified;
  std::string base;  // the Python name of the nearest exported base, or "" (Exception)
  std::string doc;
};

struct module {
  std::vector<std::string> includes;  // the input headers, as the module includes them
  std::vector<exception> exceptions;  // bases before derived classes
  std::vector<enumeration> enums;
  std::vector<record> records;  // in declaration order (fields of earlier ones first)
  std::vector<function> functions;
  bool uses_bytes = false;  // std::vector<std::byte>: the module carries a caster for it
};

struct options {
  // Whether a declaration at this location is under a NOBALROG(py-bindings) comment.
  std::function<bool(clang::SourceLocation)> suppressed;
};

// Adds the exported declarations of the main file of `ctx` to `out`. Problems are appended to
// `messages`; errors among them mean "write nothing".
void collect(clang::ASTContext& ctx, const options& opts, module& out,
             std::vector<message>& messages);

// Reports two exported declarations with one Python name; returns false if there is any.
bool check_names(const module& m, std::vector<message>& messages);

// The pybind11 module's source (unformatted) and the .pyi stub.
std::string render_module(const std::string& name, const module& m);
std::string render_stub(const std::string& name, const module& m);

}  // namespace balrog::gen::py_bindings
