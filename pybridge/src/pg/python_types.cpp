#include "pg/python_types.hpp"

namespace balrog::python::pg_types {

objects& get() {
  static objects* o = [] {
    auto* made = new objects();
    made->decimal = py::module_::import("decimal").attr("Decimal");
    made->uuid = py::module_::import("uuid").attr("UUID");
    py::module_ datetime = py::module_::import("datetime");
    made->timezone = datetime.attr("timezone");
    made->utc = made->timezone.attr("utc");
    py::module_ adapt = py::module_::import("balrog.pg._adapt");
    made->adapt = adapt;
    made->json_wrapper = adapt.attr("Json");
    made->jsonb_wrapper = adapt.attr("Jsonb");
    made->error_for = py::module_::import("balrog.pg._errors").attr("error_for");
    return made;
  }();
  return *o;
}

namespace {

[[noreturn]] void raise_object(const py::object& exc) {
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  throw py::error_already_set();
}

}  // namespace

void raise(const std::string& sqlstate, const std::string& message) {
  raise_object(get().error_for(sqlstate, message));
}

void raise_programming(const std::string& message) {
  raise_object(get().error_for("", message, "", "", "", "programming"));
}

}  // namespace balrog::python::pg_types
