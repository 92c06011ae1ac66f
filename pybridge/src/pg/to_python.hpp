// Postgres results to Python values (docs/python.md, "balrog.pg types").
//
// Results arrive in text format (DateStyle ISO, IntervalStyle postgres: the server defaults)
// and convert by the column's type OID:
//   bool -> bool; int2/int4/int8/oid -> int; float4/float8 -> float; numeric -> Decimal;
//   text, varchar, char, name, xml and every type not listed -> str; bytea -> bytes;
//   uuid -> uuid.UUID; json/jsonb -> balrog.pg's json loader (json.loads);
//   date -> datetime.date; timestamp -> naive datetime; timestamptz -> aware datetime in UTC;
//   time -> datetime.time; timetz -> time with a fixed-offset tzinfo; interval -> timedelta
//   (a month counts 30 days, a year 365, as psycopg2 does);
//   arrays of the above (any number of dimensions) -> nested lists.
// 'infinity' dates and timestamps become date.max / datetime.max (and min); values outside
// Python's range (years before 1 or after 9999, time 24:00:00) raise balrog.pg.DataError.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "balrog/pg/result.hpp"

namespace balrog::python::pg_convert {

namespace py = pybind11;

using converter = py::object (*)(std::string_view text);

// The converter for values of a type (str for types it does not know).
converter converter_for(std::uint32_t oid);

// A result's rows as tuples, columns converted by their types.
class rows {
 public:
  explicit rows(const balrog::pg::result& r);
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] py::tuple row(std::size_t i) const;

 private:
  const balrog::pg::result& r_;
  std::size_t size_;
  std::vector<converter> columns_;
};

}  // namespace balrog::python::pg_convert
