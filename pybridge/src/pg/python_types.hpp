// The Python objects the Postgres conversions need, looked up once (with the GIL).
#pragma once

#include <pybind11/pybind11.h>

#include <string>

namespace balrog::python::pg_types {

namespace py = pybind11;

struct objects {
  py::object decimal;        // decimal.Decimal
  py::object uuid;           // uuid.UUID
  py::object timezone;       // datetime.timezone
  py::object utc;            // datetime.timezone.utc
  py::object adapt;          // balrog.pg._adapt: json_loads / json_dumps (replaceable)
  py::object json_wrapper;   // balrog.pg.Json
  py::object jsonb_wrapper;  // balrog.pg.Jsonb
  py::object error_for;      // balrog.pg._errors.error_for(sqlstate, message, ...)
};

// Imports what is needed on first use (balrog.pg, decimal, uuid, datetime). Never freed:
// the objects live until the process ends.
objects& get();

// Raises the balrog.pg exception for a SQLSTATE (DataError for class 22, ...), with `message`.
[[noreturn]] void raise(const std::string& sqlstate, const std::string& message);
// Raises ProgrammingError for a misuse found on the client (no SQLSTATE).
[[noreturn]] void raise_programming(const std::string& message);

}  // namespace balrog::python::pg_types
