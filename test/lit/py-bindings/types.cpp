// Exported structs (readwrite fields, a keyword constructor for aggregates), enums and
// exception classes (their hierarchy kept: bases registered first, each derived class with
// its nearest exported base as Python base class, Exception at the root).
// RUN: rm -rf %t && mkdir -p %t
// RUN: %balrog_gen --emit-py-bindings %t/m.cpp --emit-pyi %t/m.pyi --py-module types_mod %s -- %balrog_std_flags -I %S -I %S/../../../pybridge/include 2>&1 \
// RUN:   | count 0
// RUN: FileCheck %s --input-file=%t/m.cpp
// RUN: FileCheck %s --check-prefix=PYI --input-file=%t/m.pyi
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %pybind_flags -I %S %t/m.cpp
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "balrog/python/export.hpp"

namespace shop {

/// Something went wrong in the shop.
struct BALROG_EXPORT shop_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct intermediate : shop_error {
  using shop_error::shop_error;
};
struct BALROG_EXPORT sold_out : intermediate {
  using intermediate::intermediate;
};
// CHECK: auto& exception_0 = py::register_exception<::shop::shop_error>(m, "shop_error", PyExc_Exception);
// CHECK: exception_0.attr("__doc__") = "Something went wrong in the shop.";
// CHECK: auto& exception_1 = py::register_exception<::shop::sold_out>(m, "sold_out", exception_0.ptr());
// PYI: class shop_error(Exception):
// PYI-NEXT: """Something went wrong in the shop."""
// PYI: class sold_out(shop_error):

enum class BALROG_EXPORT status { open, shipped };
// CHECK: py::enum_<::shop::status>(m, "status")
// CHECK-NEXT: .value("open", ::shop::status::open)
// CHECK-NEXT: .value("shipped", ::shop::status::shipped);
// PYI: class status:
// PYI-NEXT: open: ClassVar[status]
// PYI-NEXT: shipped: ClassVar[status]

/// One line of an order.
struct BALROG_EXPORT line {
  std::string item;
  /// How many.
  int quantity = 1;
};
// CHECK: py::class_<::shop::line>(m, "line", "One line of an order.")
// CHECK-NEXT: .def(py::init<>())
// CHECK-NEXT: .def(py::init([](std::string item, int quantity) { return ::shop::line{std::move(item), std::move(quantity)}; }), py::arg("item"), py::arg("quantity"))
// CHECK-NEXT: .def_readwrite("item", &::shop::line::item)
// CHECK-NEXT: .def_readwrite("quantity", &::shop::line::quantity, "How many.");
// PYI: class line:
// PYI-NEXT: """One line of an order."""
// PYI-NEXT: item: str
// PYI-NEXT: quantity: int
// PYI-NEXT: @overload
// PYI-NEXT: def __init__(self) -> None: ...
// PYI-NEXT: @overload
// PYI-NEXT: def __init__(self, item: str, quantity: int) -> None: ...

struct BALROG_EXPORT order {
  std::vector<line> lines;
  status state = status::open;
};
// PYI: class order:
// PYI-NEXT: lines: list[line]
// PYI-NEXT: state: status

BALROG_EXPORT order place(std::vector<line> lines);
// PYI: def place(lines: list[line]) -> order: ...

}  // namespace shop
