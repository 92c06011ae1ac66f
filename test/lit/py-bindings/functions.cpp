// Exported functions: each binding takes its arguments by value, moves them into a fiber
// (balrog::python::await_fiber) and calls the function there; the stub has their types.
// Doc comments become docstrings; unmarked declarations are left out.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %balrog_gen --emit-py-bindings %t/m.cpp --emit-pyi %t/m.pyi --py-module m %s -- %balrog_std_flags -I %S -I %S/../../../pybridge/include 2>&1 \
// RUN:   | count 0
// RUN: FileCheck %s --input-file=%t/m.cpp
// RUN: FileCheck %s --check-prefix=PYI --input-file=%t/m.pyi --implicit-check-not=hidden
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %pybind_flags -I %S %t/m.cpp
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "balrog/python/export.hpp"

namespace fn {

/// Adds two integers.
BALROG_EXPORT std::int64_t add(std::int64_t a, std::int64_t b);
// CHECK: #include <pybind11/eval.h>
// CHECK: #include "balrog/python/await.hpp"
// CHECK-NEXT: #include "functions.cpp"
// The caster for std::vector<std::byte> is in the module when it is used.
// CHECK: struct type_caster<std::vector<std::byte>> {
// CHECK: PYBIND11_MODULE(m, m) {
// CHECK: m.def(
// CHECK-NEXT: "add",
// CHECK-NEXT: [](int64_t a, int64_t b) -> int64_t {
// CHECK-NEXT: return balrog::python::await_fiber([a = std::move(a), b = std::move(b)]() mutable -> int64_t {
// CHECK-NEXT: return ::fn::add(std::move(a), std::move(b));
// CHECK-NEXT: });
// CHECK-NEXT: }, py::arg("a"), py::arg("b"),
// CHECK-NEXT: "Adds two integers.");
// PYI: import datetime
// PYI: def add(a: int, b: int) -> int:
// PYI-NEXT: """Adds two integers."""

BALROG_EXPORT std::string greet(std::string_view name, const std::string& greeting);
// CHECK: [](std::string name, std::string greeting) -> std::string {
// CHECK-NEXT: return balrog::python::await_fiber([name = std::move(name), greeting = std::move(greeting)]() mutable -> std::string {
// CHECK: return std::string(::fn::greet(std::move(name), std::move(greeting)));
// PYI: def greet(name: str, greeting: str) -> str: ...

BALROG_EXPORT void touch(bool flag, double ratio, unsigned short);
// CHECK: [](bool flag, double ratio, unsigned short arg2) -> void {
// CHECK: ::fn::touch(std::move(flag), std::move(ratio), std::move(arg2));
// PYI: def touch(flag: bool, ratio: float, arg2: int) -> None: ...

BALROG_EXPORT std::vector<std::byte> bytes_of(const std::vector<std::byte>& data);
// CHECK: [](std::vector<std::byte> data) -> std::vector<std::byte> {
// PYI: def bytes_of(data: bytes) -> bytes: ...

BALROG_EXPORT std::map<std::string, std::vector<int>> groups(std::optional<std::string> key);
// CHECK: [](std::optional<std::string> key) -> std::map<std::string, std::vector<int>> {
// PYI: def groups(key: str | None) -> dict[str, list[int]]: ...

BALROG_EXPORT std::variant<std::monostate, int, std::string> pick(int n);
// PYI: def pick(n: int) -> None | int | str: ...

BALROG_EXPORT std::chrono::system_clock::time_point after(std::chrono::system_clock::time_point t,
                                                          std::chrono::milliseconds d);
// CHECK: [](std::chrono::system_clock::time_point t, std::chrono::milliseconds d) -> std::chrono::system_clock::time_point {
// PYI: def after(t: datetime.datetime, d: datetime.timedelta) -> datetime.datetime: ...

std::int64_t hidden(std::int64_t);

}  // namespace fn

