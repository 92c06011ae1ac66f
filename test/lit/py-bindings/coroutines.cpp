// Coroutine functions (returning balrog::task<T>) run as a task while the greenlet waits
// (balrog::python::await_task); a coroutine lambda that takes the arguments by value owns
// them in its frame. Each also gets an asyncio twin, <name>_async (balrog.run_sync).
// RUN: rm -rf %t && mkdir -p %t
// RUN: %balrog_gen --emit-py-bindings %t/m.cpp --emit-pyi %t/m.pyi --py-module m %s -- %balrog_std_flags -I %S -I %S/../../../pybridge/include 2>&1 \
// RUN:   | count 0
// RUN: FileCheck %s --input-file=%t/m.cpp
// RUN: FileCheck %s --check-prefix=PYI --input-file=%t/m.pyi
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %pybind_flags -I %S %t/m.cpp
#pragma once

#include <string>

#include "balrog/python/export.hpp"
#include "balrog/task.hpp"

namespace co {
BALROG_EXPORT balrog::task<std::string> fetch(std::string key, const std::string& fallback);
// CHECK: [](std::string key, std::string fallback) -> std::string {
// CHECK-NEXT: return balrog::python::await_task([](std::string key, std::string fallback) -> balrog::task<std::string> {
// CHECK-NEXT: co_return co_await ::co::fetch(std::move(key), std::move(fallback));
// CHECK-NEXT: }(std::move(key), std::move(fallback)));
// PYI: def fetch(key: str, fallback: str) -> str: ...
// PYI: async def fetch_async(key: str, fallback: str) -> str: ...

BALROG_EXPORT balrog::task<void> ping();
// CHECK: co_await ::co::ping();
// PYI: def ping() -> None: ...
// PYI: async def ping_async() -> None: ...
}  // namespace co
// CHECK: py::exec("def fetch_async(*args, **kwargs):\n    import balrog\n    return balrog.run_sync(fetch, *args, **kwargs)\n
