// balrog._native: Hub, Waiter, Timer and the native waits (pybridge/balrog/_native.pyi).
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>

#include "balrog/errors.hpp"
#include "balrog/io.hpp"
#include "balrog/offload.hpp"
#include "balrog/python/await.hpp"
#include "bindings/bindings.hpp"
#include "hub/greenlet_api.hpp"
#include "hub/hub.hpp"
#include "hub/hub_access.hpp"
#include "hub/input_hook.hpp"

namespace balrog::python {

namespace {

// seconds (a float, maybe None) -> a deadline on the hub's clock; None: never.
std::optional<clock::time_point> deadline_after(std::optional<double> seconds) {
  if (!seconds) return std::nullopt;
  if (std::isnan(*seconds)) throw py::value_error("balrog: a timeout cannot be NaN");
  const double s = std::max(0.0, *seconds);
  if (s > 1e9) return std::nullopt;  // beyond thirty years: never
  return clock::now() +
         std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
}

void check_greenlet(const py::handle& g) {
  if (!greenlets::is_greenlet(g.ptr())) throw py::type_error("balrog: expected a greenlet");
}

// A Python-level wait: a waiter bound to the greenlet that made it.
class waiter_object {
 public:
  waiter_object() { this_thread_hub().prepare(w_); }
  ~waiter_object() {
    // Collected without having waited (a primitive dropped it): leave no trace in the hub.
    if (w_.owner != nullptr && w_.owner == hub::current()) w_.owner->forget(w_);
    Py_CLEAR(w_.greenlet);
  }
  bool wait(std::optional<double> timeout) {
    hub* h = w_.owner;
    if (h == nullptr || h != hub::current()) {
      throw py::value_error("balrog: a Waiter waits once, in the thread and greenlet that made it");
    }
    return h->wait(w_, deadline_after(timeout));
  }
  bool wake(const py::object& self) { return hub::wake(w_, self.ptr(), nullptr); }
  bool throw_(const py::object& self, const py::object& exc) {
    if (!PyExceptionInstance_Check(exc.ptr()))
      throw py::type_error("balrog: expected an exception instance");
    return hub::wake(w_, self.ptr(), exc.ptr());
  }
  [[nodiscard]] bool waiting() const noexcept { return w_.st == waiter::state::waiting; }

 private:
  waiter w_;
};

// A throw into a greenlet at a point in time (balrog.Timeout), on this thread's hub.
class timer_object {
 public:
  timer_object(double seconds, py::object greenlet, py::object exc)
      : hub_(this_thread_hub()),
        hub_id_(hub_.id()),
        greenlet_(std::move(greenlet)),
        exc_(std::move(exc)) {
    check_greenlet(greenlet_);
    t_.greenlet = greenlet_.ptr();
    t_.exc = exc_.ptr();
    hub_.arm(t_, *deadline_after(seconds));
  }
  ~timer_object() { cancel(); }
  void cancel() noexcept {
    if (!hub::still_current(hub_id_)) return;
    hub_.disarm(t_);
    hub_.cancel_throw(greenlet_.ptr(), exc_.ptr());
  }
  [[nodiscard]] bool pending() const noexcept { return t_.armed; }

 private:
  hub& hub_;
  std::uint64_t hub_id_;
  py::object greenlet_;
  py::object exc_;
  timer t_;
};

task<bool> wait_fd(int fd, bool for_write, deadline until) {
  try {
    if (for_write) {
      co_await writable(fd, until);
    } else {
      co_await readable(fd, until);
    }
  } catch (const timeout_error&) {
    co_return false;
  }
  co_return true;
}

deadline to_deadline(std::optional<clock::time_point> t) {
  return t ? deadline(*t) : deadline::never();
}

}  // namespace

void define_hub(py::module_& m) {
  py::class_<hub>(m, "Hub")
      .def(py::init<>())
      .def_property_readonly(
          "greenlet",
          [](const hub& h) { return py::reinterpret_borrow<py::object>(h.hub_greenlet()); })
      .def_property_readonly(
          "main",
          [](const hub& h) { return py::reinterpret_borrow<py::object>(h.main_greenlet()); })
      .def("spawn",
           [](hub& h, const py::object& g) {
             check_greenlet(g);
             h.spawn(g.ptr());
           })
      .def("yield_", &hub::yield_now)
      .def("sleep",
           [](hub& h, double seconds) {
             if (!(seconds > 0)) {  // zero, negative, NaN: a yield
               h.yield_now();
               return;
             }
             auto w = std::make_unique<waiter>();
             h.prepare(*w);
             h.wait(*w, deadline_after(seconds));
           })
      .def("throw",
           [](hub& h, const py::object& g, const py::object& exc) {
             check_greenlet(g);
             if (!PyExceptionInstance_Check(exc.ptr()))
               throw py::type_error("balrog: expected an exception instance");
             h.throw_into(g.ptr(), exc.ptr());
           })
      .def(
          "cancel_throw",
          [](hub& h, const py::object& g, const py::object& exc) {
            h.cancel_throw(g.ptr(), exc.is_none() ? nullptr : exc.ptr());
          },
          py::arg("greenlet"), py::arg("exc") = py::none())
      .def(
          "wait_fd",
          [](hub&, int fd, bool for_write, std::optional<double> timeout) {
            return await_task(wait_fd(fd, for_write, to_deadline(deadline_after(timeout))));
          },
          py::arg("fd"), py::arg("write"), py::arg("timeout") = py::none())
      .def("abandon_after_fork", &hub::abandon_after_fork)
      .def("close", &hub::close)
      .def_property_readonly("closed", &hub::closed)
      .def("fileno", [](hub& h) { return h.loop().native_handle(); })
      .def_property_readonly("native_alive", [](hub& h) { return h.loop().alive(); })
      .def_readwrite("error_handler", &hub::error_handler)
      .def_property(
          "interrupt_target",
          [](const hub& h) { return py::reinterpret_borrow<py::object>(h.interrupt_target()); },
          [](hub& h, const py::object& g) {
            if (!g.is_none()) check_greenlet(g);
            h.set_interrupt_target(g.is_none() ? nullptr : g.ptr());
          });

  py::class_<waiter_object>(m, "Waiter")
      .def(py::init<>())
      .def("wait", &waiter_object::wait, py::arg("timeout") = py::none())
      .def("wake", [](py::object self) { return self.cast<waiter_object&>().wake(self); })
      .def("throw",
           [](py::object self, const py::object& exc) {
             return self.cast<waiter_object&>().throw_(self, exc);
           })
      .def_property_readonly("waiting", &waiter_object::waiting);

  py::class_<timer_object>(m, "Timer")
      .def(py::init<double, py::object, py::object>(), py::arg("seconds"), py::arg("greenlet"),
           py::arg("exc"))
      .def("cancel", &timer_object::cancel)
      .def_property_readonly("pending", &timer_object::pending);

  m.def("install_input_hook", &install_input_hook,
        "Runs the thread's hub while the REPL, pdb or input() waits for the terminal; False "
        "when another input hook is installed.");
  m.def("uninstall_input_hook", &uninstall_input_hook);
  m.def("get_hub_or_none", [] {
    hub* h = hub::current();
    return h != nullptr ? py::cast(h, py::return_value_policy::reference) : py::none();
  });
}

}  // namespace balrog::python
