// balrog/pg/types.hpp — converting C++ values to statement parameters and fields to C++.
//
//   auto r = co_await conn.query("select id, tags, born from person where id = $1", 7);
//   auto [id, tags, born] = r[0].as<std::int64_t, std::vector<std::string>,
//                                   std::optional<std::chrono::system_clock::time_point>>();
//
// Parameters (conn.query(sql, args...)) and fields (row.get<T>(), row.as<T...>()) convert
// through value_codec<T>. Provided:
//
//   C++ type                                   Postgres type (OID sent)  parameter / result format
//   bool                                       bool                      text / text+binary
//   std::int16_t, std::int32_t, std::int64_t   int2, int4, int8          text / text+binary
//     (any integer type but char; unsigned ones go one size up: uint32_t is sent as int8)
//   float, double                              float4, float8            text / text+binary
//   std::string, std::string_view, const char* unknown (server infers)   text / text+binary
//   pg::numeric (decimal digits as a string)   numeric                   text / text+binary
//   pg::bytea, std::vector<std::byte>          bytea                     binary / text+binary
//   std::span<const std::byte>                 bytea                     binary / -
//   pg::uuid                                   uuid                      text / text+binary
//   pg::json, pg::jsonb                        json, jsonb               text / text+binary
//   std::chrono::system_clock::time_point      timestamptz               text / text+binary
//   pg::timestamp (no time zone)               timestamp                 text / text+binary
//   std::chrono::year_month_day                date                      text / text+binary
//   std::vector<T> of any of the above         T[] (one dimension)       like T / text+binary
//   std::optional<T>, std::nullopt, nullptr    NULL (OID of T)           -
//   pg::param                                  as given                  as given
//
// Why parameters are text: the server parses text for whatever type it decided the parameter
// has ($1 compared with a bigint column, a prepared statement's declared type...), so a C++
// int can fill an int8 or numeric slot; binary would have to match the server's type byte for
// byte. bytea goes binary (no hex doubling, embedded NULs as they are). Results come in text
// unless connect_options::binary_results; every codec above reads both formats.
//
// Reading fields. get<T> checks the column's type OID: an integer reads int2/int4/int8 (the
// value must fit T), double reads float4/float8/numeric, std::string reads any type in text
// format and, in binary format, the types of the table above (rendered as Postgres prints
// them; timestamptz in UTC) and the text-like types (text, varchar, char, name, json, xml,
// unknown). Fields of OID 0 (not from a result) skip the check.
// - time_point covers 1677-09-21..2262-04-11 (system_clock's nanoseconds); Postgres
//   'infinity'/'-infinity' read as time_point::max()/min() and those are sent as infinity.
//   Sent values are rounded down to microseconds, Postgres' resolution. pg::timestamp covers
//   Postgres' range up to year 294246 (its last 30 years overflow int64 Unix microseconds).
//   Text-format timestamps must be in DateStyle ISO (the default).
// - Floats: NaN and ±Infinity both ways.
//
// Errors (all pg::conversion_error, a pg::error, with a SQLSTATE that matches what the server
// would say):
//   unexpected_null     22004  a NULL read as anything but std::optional<T>
//   type_mismatch       42804  the column's type cannot be read as T (get<int>() of a text)
//   value_out_of_range  22003  the value does not fit T (300000 into int16_t, a year 3000
//                              timestamptz into a time_point), or a C++ value Postgres can't hold
//   malformed_value     22P02  the bytes do not parse as the column's type
// The message names the column ("column 2 \"born\"", "element 3 of column 0 \"tags\"").
//
// Your own types: specialize value_codec<T> in namespace balrog::pg:
//
//   template <> struct balrog::pg::value_codec<money> {
//     static constexpr std::uint32_t oid = 790;  // optional: NULLs and empty arrays of T use it
//     static param encode(const money& m) {      // parameters: oid, text or binary bytes
//       return param{oid, std::to_string(m.cents / 100) + "." + two_digits(m.cents % 100)};
//     }
//     static money decode(const field& f) {      // results: f is never NULL here
//       if (f.type() != oid) throw_type_mismatch(f, "money");
//       return f.is_binary() ? money{read_int64(f.raw())} : parse_money(f.raw());
//     }
//   };
//
// Either half may be left out (a type only sent, or only read). std::optional<money> and
// std::vector<money> then work by themselves: arrays of T are sent in T's format (text ones
// as an array literal, binary ones in the binary array format) and read from both formats.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "balrog/pg/error.hpp"

namespace balrog::pg {

class result;

// A statement parameter, encoded: the type to tell the server (0: let it infer), the bytes
// (nullopt: NULL), and whether the bytes are binary.
struct param {
  std::uint32_t oid = 0;
  std::optional<std::string> value;
  bool binary = false;
};

// The OIDs of the built-in types balrog converts (pg_type.oid; fixed in every server).
namespace oids {
inline constexpr std::uint32_t bool_ = 16, bytea = 17, char_ = 18, name = 19, int8 = 20, int2 = 21,
                               int4 = 23, text = 25, oid = 26, json = 114, xml = 142, float4 = 700,
                               float8 = 701, unknown = 705, bpchar = 1042, varchar = 1043,
                               date = 1082, timestamp = 1114, timestamptz = 1184, numeric = 1700,
                               uuid = 2950, jsonb = 3802;
inline constexpr std::uint32_t bool_array = 1000, bytea_array = 1001, char_array = 1002,
                               name_array = 1003, int2_array = 1005, int4_array = 1007,
                               text_array = 1009, bpchar_array = 1014, varchar_array = 1015,
                               int8_array = 1016, float4_array = 1021, float8_array = 1022,
                               oid_array = 1028, timestamp_array = 1115, date_array = 1182,
                               timestamptz_array = 1185, numeric_array = 1231, json_array = 199,
                               xml_array = 143, uuid_array = 2951, jsonb_array = 3807;
}  // namespace oids

struct numeric {
  std::string digits;  // as Postgres prints it: "-12.3400", "NaN", "Infinity"
  friend bool operator==(const numeric&, const numeric&) = default;
};
struct bytea {
  std::vector<std::byte> bytes;
  friend bool operator==(const bytea&, const bytea&) = default;
};
struct uuid {
  std::array<std::uint8_t, 16> bytes{};
  // Accepts what Postgres accepts: 32 hex digits, optionally in braces, with a hyphen after
  // any group of four. Throws pg::malformed_value.
  static uuid parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;  // "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
  friend bool operator==(const uuid&, const uuid&) = default;
};
struct json {
  std::string text;
  friend bool operator==(const json&, const json&) = default;
};
struct jsonb {
  std::string text;
  friend bool operator==(const jsonb&, const jsonb&) = default;
};
// A timestamp without time zone: a calendar date and a time of day, microseconds.
struct timestamp {
  std::chrono::sys_time<std::chrono::microseconds> value;  // interpreted as UTC wall clock
  friend bool operator==(const timestamp&, const timestamp&) = default;
};

// A value could not be converted between C++ and Postgres (see the table at the top).
class conversion_error : public error {
 public:
  using error::error;
};
class unexpected_null : public conversion_error {
 public:
  using conversion_error::conversion_error;
};
class type_mismatch : public conversion_error {
 public:
  using conversion_error::conversion_error;
};
class value_out_of_range : public conversion_error {
 public:
  using conversion_error::conversion_error;
};
class malformed_value : public conversion_error {
 public:
  using conversion_error::conversion_error;
};

// One value of a result (or an element of an array value, or a value made by hand): what a
// value_codec decodes. A view: it must not outlive the result (or the bytes) it was made from.
class field {
 public:
  field(const result& r, std::size_t row, std::size_t column) noexcept;
  // A value not read from a result: `value` nullopt is NULL; `type` 0 skips type checks.
  field(std::optional<std::string_view> value, std::uint32_t type, bool binary) noexcept
      : data_(value ? value->data() : nullptr),
        size_(value ? value->size() : 0),
        type_(type),
        null_(!value),
        binary_(binary) {}
  // The bytes a param would make the server see (decode what you encoded, in tests).
  static field of(const param& p) noexcept {
    return p.value ? field(std::string_view(*p.value), p.oid, p.binary)
                   : field(std::nullopt, p.oid, p.binary);
  }

  [[nodiscard]] bool is_null() const noexcept { return null_; }
  [[nodiscard]] std::string_view raw() const noexcept { return {data_, size_}; }  // as sent
  [[nodiscard]] bool is_binary() const noexcept { return binary_; }
  [[nodiscard]] std::uint32_t type() const noexcept { return type_; }  // the type's OID
  [[nodiscard]] std::string_view name() const;  // the column's; empty when not from a result
  // For messages: `column 2 "born"`, `element 3 of column 0 "tags"`, `the value`.
  [[nodiscard]] std::string describe() const;

  // The value as T (value_codec<T>). Throws pg::conversion_error.
  template <class T>
  [[nodiscard]] T as() const;

  // Element `index` of this array value (used by the array codec).
  [[nodiscard]] field element(std::optional<std::string_view> value, std::uint32_t type,
                              bool binary, std::size_t index) const noexcept {
    field e(value, type, binary);
    e.r_ = r_;
    e.column_ = column_;
    e.element_ = static_cast<std::ptrdiff_t>(index);
    return e;
  }

 private:
  const result* r_ = nullptr;
  std::size_t column_ = 0;
  std::ptrdiff_t element_ = -1;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  std::uint32_t type_ = 0;
  bool null_ = true;
  bool binary_ = false;
};

template <class T, class Enable = void>
struct value_codec;  // specialized in detail/codecs.hpp (included below) and by users

template <class T>
param to_param(const T& v) {
  return value_codec<T>::encode(v);
}

// For codecs: throw the conversion errors above with a message that names the field.
// `cpp_type` names the C++ side ("std::int16_t"); `pg_type` the Postgres one ("int2").
[[noreturn]] void throw_unexpected_null(const field& f, std::string_view cpp_type);
[[noreturn]] void throw_type_mismatch(const field& f, std::string_view cpp_type);
[[noreturn]] void throw_out_of_range(const field& f, std::string_view cpp_type);
[[noreturn]] void throw_malformed(const field& f, std::string_view pg_type);
// A C++ value that Postgres cannot hold (a uint64_t above INT64_MAX...): value_out_of_range.
[[noreturn]] void throw_unrepresentable(std::string_view what);
// Throws pg::malformed_value "invalid input syntax for <what>: <text>".
[[noreturn]] void throw_bad_value(const char* what, std::string_view text);
// Throws balrog::usage_error.
[[noreturn]] void throw_usage(const std::string& message);

}  // namespace balrog::pg

#include "balrog/pg/detail/codecs.hpp"
