// A user's extension module: C++ coroutines and blocking-style C++ called from greenlets.
#include <pybind11/pybind11.h>

#include <chrono>
#include <memory>

#include "balrog/errors.hpp"
#include "balrog/python/await.hpp"
#include "balrog/sleep.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"

namespace {

balrog::task<int> slow_double(int v, int ms) {
  co_await balrog::sleep_for(std::chrono::milliseconds(ms));
  co_return v * 2;
}

balrog::task<int> times_out() {
  co_await balrog::sleep_for(std::chrono::milliseconds(1));
  throw balrog::timeout_error();
}

}  // namespace

PYBIND11_MODULE(fetcher, m) {
  m.def("slow_double",
        [](int v, int ms) { return balrog::python::await_task(slow_double(v, ms)); });
  m.def("blocking_triple", [](int v, int ms) {
    return balrog::python::await_fiber([v, ms] {
      balrog::this_fiber::sleep_for(std::chrono::milliseconds(ms));
      return v * 3;
    });
  });
  m.def("times_out", [] { return balrog::python::await_task(times_out()); });
  // C++ on a fiber calling back into Python through the hub (a server handing requests over).
  m.def("count_in_fiber", [](pybind11::function callback, int n) {
    auto shared = std::make_shared<pybind11::function>(std::move(callback));  // made with the GIL
    balrog::python::await_fiber([shared, n] {
      for (int i = 0; i < n; ++i) {
        balrog::python::call_in_hub([shared, i] { (*shared)(i); });
        balrog::this_fiber::sleep_for(std::chrono::milliseconds(1));
      }
    });
  });
}
