// Python values to statement parameters (docs/python.md, "balrog.pg types").
//
//   None -> NULL; bool -> bool; int -> int4, int8 or numeric, the first that holds it (as the
//   server types an integer literal); float -> float8
//   (NaN, Infinity); Decimal -> numeric; str -> text, left for the server to type (like a
//   literal); bytes, bytearray, memoryview -> bytea (binary); datetime -> timestamptz when aware,
//   timestamp when naive; date -> date; time -> time / timetz; timedelta -> interval;
//   uuid.UUID -> uuid; balrog.pg.Json / Jsonb (and dict) -> json / jsonb; list and tuple ->
//   an array (nested lists: more dimensions) typed by its first non-None element (int8[] for
//   int, text[] for str; an array of only None, or empty, is left for the server to type).
// Anything else raises balrog.pg.ProgrammingError ("can't adapt type ...").
#pragma once

#include <pybind11/pybind11.h>

#include <vector>

#include "balrog/pg/types.hpp"

namespace balrog::python::pg_convert {

balrog::pg::param to_param(pybind11::handle value);
std::vector<balrog::pg::param> to_params(const pybind11::sequence& values);

}  // namespace balrog::python::pg_convert
