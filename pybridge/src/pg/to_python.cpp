#include "pg/to_python.hpp"

#include <charconv>
#include <chrono>
#include <string>

#include "balrog/pg/types.hpp"
#include "pg/extra_types.hpp"
#include "pg/python_types.hpp"

namespace balrog::python::pg_convert {

namespace oids = balrog::pg::oids;

namespace {

[[noreturn]] void bad_value(const char* type, std::string_view text) {
  pg_types::raise("22P02", std::string("invalid ") + type + " value from the server: \"" +
                               std::string(text) + "\"");
}

[[noreturn]] void out_of_python_range(const char* type, std::string_view text) {
  pg_types::raise("22008", std::string(type) + " value \"" + std::string(text) +
                               "\" is outside the range of Python's datetime");
}

balrog::pg::field text_field(std::string_view text, std::uint32_t oid) {
  return balrog::pg::field(text, oid, false);
}

// --- scalars --------------------------------------------------------------------------------

py::object to_str(std::string_view t) {
  PyObject* s = PyUnicode_DecodeUTF8(t.data(), static_cast<Py_ssize_t>(t.size()), "strict");
  if (s == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(s);
}

py::object to_bool(std::string_view t) {
  if (t == "t") return py::bool_(true);
  if (t == "f") return py::bool_(false);
  bad_value("boolean", t);
}

py::object to_int(std::string_view t) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size()) bad_value("integer", t);
  return py::reinterpret_steal<py::object>(PyLong_FromLongLong(v));
}

py::object to_float(std::string_view t) {
  double v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size()) bad_value("float", t);
  return py::reinterpret_steal<py::object>(PyFloat_FromDouble(v));
}

py::object to_decimal(std::string_view t) { return pg_types::get().decimal(to_str(t)); }

py::object to_bytes(std::string_view t) {
  const auto bytes =
      text_field(t, oids::bytea).as<std::vector<std::byte>>();  // hex or escape format
  return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

py::object to_uuid(std::string_view t) { return pg_types::get().uuid(to_str(t)); }

py::object to_json(std::string_view t) {
  return pg_types::get().adapt.attr("json_loads")(to_str(t));
}

// --- dates and times ------------------------------------------------------------------------

py::object date_of(const std::chrono::year_month_day& d, std::string_view text) {
  const int y = static_cast<int>(d.year());
  if (y < 1 || y > 9999) out_of_python_range("date", text);
  import_datetime();
  return py::reinterpret_steal<py::object>(
      PyDate_FromDate(y, static_cast<int>(static_cast<unsigned>(d.month())),
                      static_cast<int>(static_cast<unsigned>(d.day()))));
}

py::object to_date(std::string_view t) {
  import_datetime();
  if (t == "infinity" || t == "-infinity") {
    return py::handle(reinterpret_cast<PyObject*>(PyDateTimeAPI->DateType))
        .attr(t == "infinity" ? "max" : "min");
  }
  return date_of(text_field(t, oids::date).as<std::chrono::year_month_day>(), t);
}

py::object datetime_of(std::int64_t unix_us, PyObject* tz, std::string_view text) {
  using namespace std::chrono;
  const sys_time<microseconds> at{microseconds(unix_us)};
  const sys_days day = floor<days>(at);
  const year_month_day ymd{day};
  const int y = static_cast<int>(ymd.year());
  if (y < 1 || y > 9999) out_of_python_range("timestamp", text);
  const hh_mm_ss<microseconds> tod{at - day};
  import_datetime();
  PyObject* dt = PyDateTimeAPI->DateTime_FromDateAndTime(
      y, static_cast<int>(static_cast<unsigned>(ymd.month())),
      static_cast<int>(static_cast<unsigned>(ymd.day())), static_cast<int>(tod.hours().count()),
      static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()),
      static_cast<int>(tod.subseconds().count()), tz, PyDateTimeAPI->DateTimeType);
  if (dt == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(dt);
}

py::object timestamp_of(std::string_view t, std::uint32_t oid, PyObject* tz) {
  import_datetime();
  if (t == "infinity" || t == "-infinity") {
    py::object limit = py::handle(reinterpret_cast<PyObject*>(PyDateTimeAPI->DateTimeType))
                           .attr(t == "infinity" ? "max" : "min");
    return tz == Py_None ? limit : limit.attr("replace")(py::arg("tzinfo") = py::handle(tz));
  }
  const std::int64_t us = balrog::pg::detail::decode_timestamp(text_field(t, oid), oid, "datetime");
  return datetime_of(us, tz, t);
}

py::object to_timestamp(std::string_view t) { return timestamp_of(t, oids::timestamp, Py_None); }
py::object to_timestamptz(std::string_view t) {
  return timestamp_of(t, oids::timestamptz, pg_types::get().utc.ptr());
}

// A small cursor over the server's text.
struct scanner {
  std::string_view t;
  bool eat(char c) {
    if (t.empty() || t.front() != c) return false;
    t.remove_prefix(1);
    return true;
  }
  // One or more digits; false when there are none.
  bool number(std::int64_t& out, std::size_t* digits = nullptr) {
    const char* end = t.data() + t.size();
    const auto [stop, ec] = std::from_chars(t.data(), end, out);
    if (ec != std::errc() || stop == t.data()) return false;
    if (digits != nullptr) *digits = static_cast<std::size_t>(stop - t.data());
    t.remove_prefix(static_cast<std::size_t>(stop - t.data()));
    return true;
  }
  // ".ffffff" -> microseconds (0 when absent).
  bool fraction(std::int64_t& us) {
    us = 0;
    if (!eat('.')) return true;
    std::size_t n = 0;
    std::int64_t v = 0;
    if (!number(v, &n) || n > 6) return false;
    for (; n < 6; ++n) v *= 10;
    us = v;
    return true;
  }
};

// "HH:MM:SS[.ffffff]" -> seconds of the day and microseconds.
bool clock_time(scanner& s, std::int64_t& h, std::int64_t& m, std::int64_t& sec, std::int64_t& us) {
  return s.number(h) && s.eat(':') && s.number(m) && s.eat(':') && s.number(sec) && s.fraction(us);
}

py::object time_of(std::string_view text, PyObject* tz) {
  scanner s{text};
  std::int64_t h = 0, m = 0, sec = 0, us = 0;
  if (!clock_time(s, h, m, sec, us)) bad_value("time", text);
  if (h > 23) out_of_python_range("time", text);
  import_datetime();
  if (tz == nullptr) {
    // timetz: "+HH[:MM[:SS]]" or "-..."
    const bool minus = s.eat('-');
    if (!minus && !s.eat('+')) bad_value("time with time zone", text);
    std::int64_t oh = 0, om = 0, os = 0;
    if (!s.number(oh)) bad_value("time with time zone", text);
    if (s.eat(':') && !s.number(om)) bad_value("time with time zone", text);
    if (s.eat(':') && !s.number(os)) bad_value("time with time zone", text);
    const auto offset_s = (oh * 3600 + om * 60 + os) * (minus ? -1 : 1);
    py::object delta =
        py::reinterpret_steal<py::object>(PyDelta_FromDSU(0, static_cast<int>(offset_s), 0));
    py::object zone = pg_types::get().timezone(delta);
    PyObject* t = PyDateTimeAPI->Time_FromTime(static_cast<int>(h), static_cast<int>(m),
                                               static_cast<int>(sec), static_cast<int>(us),
                                               zone.ptr(), PyDateTimeAPI->TimeType);
    if (t == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(t);
  }
  if (!s.t.empty()) bad_value("time", text);
  return py::reinterpret_steal<py::object>(PyTime_FromTime(
      static_cast<int>(h), static_cast<int>(m), static_cast<int>(sec), static_cast<int>(us)));
}

py::object to_time(std::string_view t) { return time_of(t, Py_None); }
py::object to_timetz(std::string_view t) { return time_of(t, nullptr); }

// IntervalStyle postgres: "1 year 2 mons -3 days +04:05:06.789", "-00:00:01.5", "00:00:00".
py::object to_interval(std::string_view text) {
  scanner s{text};
  std::int64_t days = 0, seconds = 0, micros = 0;
  while (!s.t.empty()) {
    while (s.eat(' ')) {
    }
    if (s.t.empty()) break;
    const bool minus = s.eat('-');
    if (!minus) s.eat('+');
    std::int64_t n = 0;
    if (!s.number(n)) bad_value("interval", text);
    if (s.eat(':')) {  // a time: n is the hours
      std::int64_t m = 0, sec = 0, us = 0;
      if (!s.number(m) || !s.eat(':') || !s.number(sec) || !s.fraction(us))
        bad_value("interval", text);
      const std::int64_t sign = minus ? -1 : 1;
      seconds += sign * (n * 3600 + m * 60 + sec);
      micros += sign * us;
      continue;
    }
    if (minus) n = -n;
    if (!s.eat(' ')) bad_value("interval", text);
    const std::size_t unit_end = std::min(s.t.find(' '), s.t.size());
    const std::string_view unit = s.t.substr(0, unit_end);
    s.t.remove_prefix(unit_end);
    if (unit == "year" || unit == "years") {
      days += n * 365;
    } else if (unit == "mon" || unit == "mons") {
      days += n * 30;
    } else if (unit == "day" || unit == "days") {
      days += n;
    } else {
      bad_value("interval (IntervalStyle must be postgres)", text);
    }
  }
  import_datetime();
  // timedelta normalizes; its range is +-999999999 days.
  PyObject* d =
      PyDelta_FromDSU(static_cast<int>(days), static_cast<int>(seconds), static_cast<int>(micros));
  if (d == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(d);
}

// --- arrays ---------------------------------------------------------------------------------

// Postgres array text: optional "[1:2]=" bounds, then {elem,elem,...} with nested braces,
// double-quoted elements (backslash escapes) and unquoted NULL.
class array_parser {
 public:
  array_parser(std::string_view text, converter element)
      : t_(text), all_(text), element_(element) {}

  py::object parse() {
    if (!t_.empty() && t_.front() == '[') {  // dimension decoration: skip to '='
      const auto eq = t_.find('=');
      if (eq == std::string_view::npos) bad_value("array", all_);
      t_.remove_prefix(eq + 1);
    }
    py::object out = list();
    if (!t_.empty()) bad_value("array", all_);
    return out;
  }

 private:
  py::list list() {
    if (!eat('{')) bad_value("array", all_);
    py::list out;
    if (eat('}')) return out;
    for (;;) {
      if (!t_.empty() && t_.front() == '{') {
        out.append(list());
      } else {
        out.append(item());
      }
      if (eat(',')) continue;
      if (eat('}')) return out;
      bad_value("array", all_);
    }
  }

  py::object item() {
    if (eat('"')) {
      std::string v;
      for (;;) {
        if (t_.empty()) bad_value("array", all_);
        const char c = t_.front();
        t_.remove_prefix(1);
        if (c == '"') break;
        if (c == '\\') {
          if (t_.empty()) bad_value("array", all_);
          v.push_back(t_.front());
          t_.remove_prefix(1);
        } else {
          v.push_back(c);
        }
      }
      return element_(v);
    }
    std::size_t n = 0;
    while (n < t_.size() && t_[n] != ',' && t_[n] != '}') ++n;
    std::string_view v = t_.substr(0, n);
    t_.remove_prefix(n);
    if (v.size() == 4 && (v == "NULL" || v == "null")) return py::none();
    return element_(v);
  }

  bool eat(char c) {
    if (t_.empty() || t_.front() != c) return false;
    t_.remove_prefix(1);
    return true;
  }

  std::string_view t_;
  std::string_view all_;
  converter element_;
};

template <std::uint32_t Element>
py::object to_array(std::string_view t) {
  return array_parser(t, converter_for(Element)).parse();
}

}  // namespace

converter converter_for(std::uint32_t oid) {
  switch (oid) {
    case oids::bool_:
      return &to_bool;
    case oids::int2:
    case oids::int4:
    case oids::int8:
    case oids::oid:
      return &to_int;
    case oids::float4:
    case oids::float8:
      return &to_float;
    case oids::numeric:
      return &to_decimal;
    case oids::bytea:
      return &to_bytes;
    case oids::uuid:
      return &to_uuid;
    case oids::json:
    case oids::jsonb:
      return &to_json;
    case oids::date:
      return &to_date;
    case oids::timestamp:
      return &to_timestamp;
    case oids::timestamptz:
      return &to_timestamptz;
    case time_oid:
      return &to_time;
    case timetz_oid:
      return &to_timetz;
    case interval_oid:
      return &to_interval;
    case oids::bool_array:
      return &to_array<oids::bool_>;
    case oids::bytea_array:
      return &to_array<oids::bytea>;
    case oids::char_array:
      return &to_array<oids::char_>;
    case oids::name_array:
      return &to_array<oids::name>;
    case oids::int2_array:
      return &to_array<oids::int2>;
    case oids::int4_array:
      return &to_array<oids::int4>;
    case oids::int8_array:
      return &to_array<oids::int8>;
    case oids::oid_array:
      return &to_array<oids::oid>;
    case oids::text_array:
      return &to_array<oids::text>;
    case oids::bpchar_array:
      return &to_array<oids::bpchar>;
    case oids::varchar_array:
      return &to_array<oids::varchar>;
    case oids::float4_array:
      return &to_array<oids::float4>;
    case oids::float8_array:
      return &to_array<oids::float8>;
    case oids::numeric_array:
      return &to_array<oids::numeric>;
    case oids::timestamp_array:
      return &to_array<oids::timestamp>;
    case oids::timestamptz_array:
      return &to_array<oids::timestamptz>;
    case oids::date_array:
      return &to_array<oids::date>;
    case oids::json_array:
      return &to_array<oids::json>;
    case oids::jsonb_array:
      return &to_array<oids::jsonb>;
    case oids::xml_array:
      return &to_array<oids::xml>;
    case oids::uuid_array:
      return &to_array<oids::uuid>;
    case time_array:
      return &to_array<time_oid>;
    case timetz_array:
      return &to_array<timetz_oid>;
    case interval_array:
      return &to_array<interval_oid>;
    default:
      return &to_str;
  }
}

rows::rows(const balrog::pg::result& r) : r_(r), size_(r.size()) {
  columns_.reserve(r.columns());
  for (std::size_t c = 0; c < r.columns(); ++c) columns_.push_back(converter_for(r.column_type(c)));
}

py::tuple rows::row(std::size_t i) const {
  const std::size_t n = columns_.size();
  py::tuple out(n);
  const balrog::pg::row row = r_[i];
  for (std::size_t c = 0; c < n; ++c) {
    const balrog::pg::field f = row[c];
    py::object v = f.is_null() ? py::none() : columns_[c](f.raw());
    PyTuple_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(c), v.release().ptr());
  }
  return out;
}

}  // namespace balrog::python::pg_convert
