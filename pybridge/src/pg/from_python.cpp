#include "pg/from_python.hpp"

#include <limits>
#include <string>

#include "pg/extra_types.hpp"
#include "pg/python_types.hpp"

namespace balrog::python::pg_convert {

namespace py = pybind11;
namespace oids = balrog::pg::oids;
using balrog::pg::param;

namespace {

std::string utf8(py::handle s) {
  Py_ssize_t n = 0;
  const char* p = PyUnicode_AsUTF8AndSize(s.ptr(), &n);
  if (p == nullptr) throw py::error_already_set();
  return {p, static_cast<std::size_t>(n)};
}

std::string str_of(py::handle v) { return utf8(py::str(v)); }

[[noreturn]] void cannot_adapt(py::handle v) {
  pg_types::raise_programming("can't adapt type '" + std::string(Py_TYPE(v.ptr())->tp_name) + "'");
}

std::string float_text(double d) {
  if (d != d) return "NaN";
  if (d == std::numeric_limits<double>::infinity()) return "Infinity";
  if (d == -std::numeric_limits<double>::infinity()) return "-Infinity";
  return str_of(py::float_(d).attr("__repr__")());
}

std::string interval_text(py::handle delta) {
  std::string us = std::to_string(delta.attr("microseconds").cast<int>());
  return std::to_string(delta.attr("days").cast<int>()) + " days " +
         std::to_string(delta.attr("seconds").cast<int>()) + "." + std::string(6 - us.size(), '0') +
         us + " seconds";
}

param scalar(py::handle v) {
  PyObject* o = v.ptr();
  if (o == Py_None) return {};
  if (PyBool_Check(o)) return {oids::bool_, o == Py_True ? "t" : "f"};
  if (PyLong_Check(o)) {
    int overflow = 0;
    const long long n = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow == 0) {
      if (n == -1 && PyErr_Occurred()) throw py::error_already_set();
      // Typed as Postgres types an integer literal: int4 when it fits (so it matches function
      // arguments declared integer), else int8.
      const bool fits_int4 = n >= std::numeric_limits<std::int32_t>::min() &&
                             n <= std::numeric_limits<std::int32_t>::max();
      return {fits_int4 ? oids::int4 : oids::int8, std::to_string(n)};
    }
    return {oids::numeric, str_of(v)};
  }
  if (PyFloat_Check(o)) return {oids::float8, float_text(PyFloat_AS_DOUBLE(o))};
  if (PyUnicode_Check(o)) return {0, utf8(v)};
  if (PyBytes_Check(o)) {
    return {oids::bytea,
            std::string(PyBytes_AS_STRING(o), static_cast<std::size_t>(PyBytes_GET_SIZE(o))), true};
  }
  if (PyByteArray_Check(o) || PyMemoryView_Check(o)) {
    py::bytes b(py::reinterpret_steal<py::object>(PyBytes_FromObject(o)));
    return {oids::bytea, std::string(b), true};
  }
  import_datetime();
  if (PyDateTime_Check(o)) {
    const bool aware = !v.attr("utcoffset")().is_none();
    return {aware ? oids::timestamptz : oids::timestamp, str_of(v.attr("isoformat")(py::str(" ")))};
  }
  if (PyDate_Check(o)) return {oids::date, str_of(v.attr("isoformat")())};
  if (PyTime_Check(o)) {
    const bool aware = !v.attr("utcoffset")().is_none();
    return {aware ? timetz_oid : time_oid, str_of(v.attr("isoformat")())};
  }
  if (PyDelta_Check(o)) return {interval_oid, interval_text(v)};
  const pg_types::objects& types = pg_types::get();
  if (py::isinstance(v, types.decimal)) {
    if (v.attr("is_snan")().cast<bool>()) cannot_adapt(v);
    return {oids::numeric, str_of(v)};
  }
  if (py::isinstance(v, types.uuid)) return {oids::uuid, str_of(v)};
  if (py::isinstance(v, types.jsonb_wrapper)) {
    return {oids::jsonb, utf8(types.adapt.attr("json_dumps")(v.attr("obj")))};
  }
  if (py::isinstance(v, types.json_wrapper)) {
    return {oids::json, utf8(types.adapt.attr("json_dumps")(v.attr("obj")))};
  }
  if (PyDict_Check(o)) return {oids::jsonb, utf8(types.adapt.attr("json_dumps")(v))};
  cannot_adapt(v);
}

// The array type for elements like `sample` (0: let the server infer): the driver's table,
// plus what Python values need beyond it.
std::uint32_t array_type_for(const param& sample) {
  switch (sample.oid) {
    case 0:
      return oids::text_array;  // str elements
    case oids::int4:            // a mix of integer sizes fits int8[]
      return oids::int8_array;
    case time_oid:
      return time_array;
    case timetz_oid:
      return timetz_array;
    case interval_oid:
      return interval_array;
    default:
      return balrog::pg::detail::array_type_of(sample.oid);
  }
}

void append_quoted(std::string& out, const std::string& v) {
  out.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

// Appends the array literal of `seq`; records the first non-NULL element's param in `sample`.
void append_array(std::string& out, py::handle seq, param& sample, bool& have_sample) {
  out.push_back('{');
  bool first = true;
  for (py::handle item : py::reinterpret_borrow<py::sequence>(seq)) {
    if (!first) out.push_back(',');
    first = false;
    if (PyList_Check(item.ptr()) || PyTuple_Check(item.ptr())) {
      append_array(out, item, sample, have_sample);
      continue;
    }
    param p = scalar(item);
    if (!p.value) {
      out += "NULL";
      continue;
    }
    if (p.binary) {  // bytea inside an array literal: hex text
      static constexpr char hex[] = "0123456789abcdef";
      std::string text = "\\x";
      for (unsigned char c : *p.value) {
        text.push_back(hex[c >> 4]);
        text.push_back(hex[c & 15]);
      }
      p.value = std::move(text);
    }
    if (!have_sample) {
      sample = p;
      have_sample = true;
    }
    append_quoted(out, *p.value);
  }
  out.push_back('}');
}

}  // namespace

param to_param(py::handle value) {
  if (PyList_Check(value.ptr()) || PyTuple_Check(value.ptr())) {
    std::string literal;
    param sample;
    bool have_sample = false;
    append_array(literal, value, sample, have_sample);
    return {have_sample ? array_type_for(sample) : 0, std::move(literal)};
  }
  return scalar(value);
}

std::vector<param> to_params(const py::sequence& values) {
  std::vector<param> out;
  out.reserve(values.size());
  for (py::handle v : values) out.push_back(to_param(v));
  return out;
}

}  // namespace balrog::python::pg_convert
