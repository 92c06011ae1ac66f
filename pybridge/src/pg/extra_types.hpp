// What both directions of the Postgres conversions need beyond balrog::pg::oids: the OIDs of
// the time types it does not name, and CPython's datetime C API.
#pragma once

#include <Python.h>
#include <datetime.h>
#include <pybind11/pybind11.h>

#include <cstdint>

namespace balrog::python::pg_convert {

inline constexpr std::uint32_t time_oid = 1083, timetz_oid = 1266, interval_oid = 1186;
inline constexpr std::uint32_t time_array = 1183, timetz_array = 1270, interval_array = 1187;

// datetime.h keeps its API table in a static variable of each file that includes it, so this
// is static too: each file imports its own table on first use.
static inline void import_datetime() {
  if (PyDateTimeAPI == nullptr) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == nullptr) throw pybind11::error_already_set();
  }
}

}  // namespace balrog::python::pg_convert
