// balrog/pg/detail/codecs.hpp — the value_codec specializations listed in balrog/pg/types.hpp
// (included from there; not a header to include by itself). The work is done out of line in
// drivers/pg/src/codecs/; what stays here is the templates (integers, time points, optional,
// vector) and the declarations.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace balrog::pg {

namespace detail {

// value_codec<T>::oid when the codec declares one, else 0 ("let the server infer").
template <class T>
constexpr std::uint32_t oid_of() {
  if constexpr (requires { value_codec<T>::oid; }) {
    return value_codec<T>::oid;
  } else {
    return 0;
  }
}

// The array type of a built-in element type and back; 0 when balrog does not know it.
constexpr std::uint32_t array_type_of(std::uint32_t element) {
  switch (element) {
    case oids::bool_:
      return oids::bool_array;
    case oids::bytea:
      return oids::bytea_array;
    case oids::char_:
      return oids::char_array;
    case oids::name:
      return oids::name_array;
    case oids::int2:
      return oids::int2_array;
    case oids::int4:
      return oids::int4_array;
    case oids::int8:
      return oids::int8_array;
    case oids::text:
      return oids::text_array;
    case oids::oid:
      return oids::oid_array;
    case oids::json:
      return oids::json_array;
    case oids::xml:
      return oids::xml_array;
    case oids::float4:
      return oids::float4_array;
    case oids::float8:
      return oids::float8_array;
    case oids::bpchar:
      return oids::bpchar_array;
    case oids::varchar:
      return oids::varchar_array;
    case oids::date:
      return oids::date_array;
    case oids::timestamp:
      return oids::timestamp_array;
    case oids::timestamptz:
      return oids::timestamptz_array;
    case oids::numeric:
      return oids::numeric_array;
    case oids::uuid:
      return oids::uuid_array;
    case oids::jsonb:
      return oids::jsonb_array;
    default:
      return 0;
  }
}
std::uint32_t element_type_of(std::uint32_t array);  // 0 when not a known array type
// "int8", "timestamptz[]"... or "type 16385".
std::string type_name(std::uint32_t oid);

// The C++ name of T, for messages ("long int", "std::optional<int>").
template <class T>
constexpr std::string_view cpp_name() {
  std::string_view p = __PRETTY_FUNCTION__;  // "... [with T = long int; ...]" (gcc), "[T = long]"
  const auto at = p.find("T = ");
  if (at == std::string_view::npos) return "the requested type";
  p.remove_prefix(at + 4);
  return p.substr(0, p.find_first_of(";]"));
}

template <class T>
inline constexpr bool is_integer_v =
    std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char> &&
    !std::is_same_v<T, signed char> && !std::is_same_v<T, unsigned char> &&
    !std::is_same_v<T, wchar_t> && !std::is_same_v<T, char8_t> && !std::is_same_v<T, char16_t> &&
    !std::is_same_v<T, char32_t>;

// int2 / int4 / int8: the smallest that holds every T.
template <class T>
constexpr std::uint32_t integer_type() {
  constexpr std::size_t bits = sizeof(T) * 8 + (std::is_signed_v<T> ? 0 : 1);
  return bits <= 16 ? oids::int2 : bits <= 32 ? oids::int4 : oids::int8;
}

param encode_integer(std::int64_t v, std::uint32_t oid);
// int2/int4/int8 (also oid) in either format; value_out_of_range outside [min, max].
std::int64_t decode_integer(const field& f, std::string_view cpp_type, std::int64_t min,
                            std::int64_t max);

// Timestamps travel as microseconds since 1970-01-01 00:00:00 (UTC for timestamptz, wall
// clock for timestamp); these two stand for 'infinity' and '-infinity'.
inline constexpr std::int64_t infinity_us = std::numeric_limits<std::int64_t>::max();
inline constexpr std::int64_t minus_infinity_us = std::numeric_limits<std::int64_t>::min();
param encode_timestamp(std::int64_t unix_us, std::uint32_t oid);
std::int64_t decode_timestamp(const field& f, std::uint32_t oid, std::string_view cpp_type);

// One-dimensional arrays. encode_array sends text elements as an array literal and binary
// ones in the binary array format (element_type, or the elements' OID, must then be known).
param encode_array(const std::vector<param>& elements, std::uint32_t element_type);
// The elements of an array field, either format. `values` may point into `storage` (text
// elements with escapes), so an array_items is filled in place and never moved.
struct array_items {
  std::uint32_t element_type = 0;  // 0: unknown (a text array of a type balrog does not know)
  bool binary = false;
  std::vector<std::optional<std::string_view>> values;
  std::string storage;
  array_items() = default;
  array_items(const array_items&) = delete;
  array_items& operator=(const array_items&) = delete;
};
void split_array(const field& f, array_items& out);

}  // namespace detail

// --- scalars -------------------------------------------------------------------------------

template <>
struct value_codec<bool> {
  static constexpr std::uint32_t oid = oids::bool_;
  static param encode(bool v);
  static bool decode(const field& f);
};

// Every integer type but the character types: sent as int2/int4/int8, read from any of them.
template <class T>
struct value_codec<T, std::enable_if_t<detail::is_integer_v<T>>> {
  static constexpr std::uint32_t oid = detail::integer_type<T>();
  static param encode(T v) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      if (v > static_cast<T>(std::numeric_limits<std::int64_t>::max())) {
        throw_unrepresentable(std::to_string(v) + " does not fit in int8");
      }
    }
    return detail::encode_integer(static_cast<std::int64_t>(v), oid);
  }
  static T decode(const field& f) {
    constexpr std::int64_t lo =
        std::is_signed_v<T> ? static_cast<std::int64_t>(std::numeric_limits<T>::min()) : 0;
    constexpr std::int64_t hi =
        static_cast<std::uint64_t>(std::numeric_limits<T>::max()) >
                static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
            ? std::numeric_limits<std::int64_t>::max()
            : static_cast<std::int64_t>(std::numeric_limits<T>::max());
    return static_cast<T>(detail::decode_integer(f, detail::cpp_name<T>(), lo, hi));
  }
};

template <>
struct value_codec<float> {
  static constexpr std::uint32_t oid = oids::float4;
  static param encode(float v);
  static float decode(const field& f);  // float4, float8 (rounded), numeric
};
template <>
struct value_codec<double> {
  static constexpr std::uint32_t oid = oids::float8;
  static param encode(double v);
  static double decode(const field& f);  // float4, float8, numeric
};

// Strings are sent with OID 0: the server gives them the type the statement needs.
template <>
struct value_codec<std::string> {
  static param encode(const std::string& v);
  static std::string decode(const field& f);
};
template <>
struct value_codec<std::string_view> {
  static param encode(std::string_view v);
  // The field's bytes, without copying: text format, or binary text-like types only.
  static std::string_view decode(const field& f);
};
template <>
struct value_codec<const char*> {
  static param encode(const char* v);  // nullptr is NULL
};
template <>
struct value_codec<char*> {
  static param encode(const char* v) { return value_codec<const char*>::encode(v); }
};
template <std::size_t N>
struct value_codec<char[N]> {
  static param encode(const char (&v)[N]) {
    return value_codec<std::string_view>::encode(std::string_view(v));
  }
};

template <>
struct value_codec<numeric> {
  static constexpr std::uint32_t oid = oids::numeric;
  static param encode(const numeric& v);
  static numeric decode(const field& f);  // numeric, and the integer types
};

template <>
struct value_codec<bytea> {
  static constexpr std::uint32_t oid = oids::bytea;
  static param encode(const bytea& v);
  static bytea decode(const field& f);
};
template <>
struct value_codec<std::vector<std::byte>> {
  static constexpr std::uint32_t oid = oids::bytea;
  static param encode(const std::vector<std::byte>& v);
  static std::vector<std::byte> decode(const field& f);
};
template <std::size_t N>
struct value_codec<std::span<const std::byte, N>> {
  static constexpr std::uint32_t oid = oids::bytea;
  static param encode(std::span<const std::byte, N> v) {
    return param{oid, std::string(reinterpret_cast<const char*>(v.data()), v.size()), true};
  }
};

template <>
struct value_codec<uuid> {
  static constexpr std::uint32_t oid = oids::uuid;
  static param encode(const uuid& v);
  static uuid decode(const field& f);
};

template <>
struct value_codec<json> {
  static constexpr std::uint32_t oid = oids::json;
  static param encode(const json& v);
  static json decode(const field& f);  // json or jsonb
};
template <>
struct value_codec<jsonb> {
  static constexpr std::uint32_t oid = oids::jsonb;
  static param encode(const jsonb& v);
  static jsonb decode(const field& f);  // jsonb or json
};

// --- time ----------------------------------------------------------------------------------

// Any system_clock time point is a timestamptz. Sent rounded down to microseconds; read values
// that do not fit Duration's range throw value_out_of_range (finer than microseconds: none
// are lost; coarser: rounded down). max()/min() are 'infinity'/'-infinity' both ways.
template <class Duration>
struct value_codec<std::chrono::time_point<std::chrono::system_clock, Duration>> {
  using time_point = std::chrono::time_point<std::chrono::system_clock, Duration>;
  static constexpr std::uint32_t oid = oids::timestamptz;
  static param encode(const time_point& v) { return detail::encode_timestamp(to_us(v), oid); }
  static time_point decode(const field& f) {
    return from_us(f, detail::decode_timestamp(f, oid, detail::cpp_name<time_point>()));
  }

  static std::int64_t to_us(const time_point& v) {
    if (v == time_point::max()) return detail::infinity_us;
    if (v == time_point::min()) return detail::minus_infinity_us;
    return std::chrono::floor<std::chrono::microseconds>(v.time_since_epoch()).count();
  }
  static time_point from_us(const field& f, std::int64_t us) {
    if (us == detail::infinity_us) return time_point::max();
    if (us == detail::minus_infinity_us) return time_point::min();
    using micro = std::chrono::duration<std::int64_t, std::micro>;
    if constexpr (std::is_convertible_v<micro, Duration>) {  // Duration is microseconds or finer
      constexpr auto per_us = std::chrono::duration_cast<Duration>(micro(1)).count();
      constexpr auto top = std::numeric_limits<typename Duration::rep>::max() / per_us;
      constexpr auto bottom = std::numeric_limits<typename Duration::rep>::min() / per_us;
      if (us > top || us < bottom) throw_out_of_range(f, detail::cpp_name<time_point>());
      return time_point(Duration(us * per_us));
    } else {
      return time_point(std::chrono::floor<Duration>(micro(us)));
    }
  }
};

template <>
struct value_codec<timestamp> {
  static constexpr std::uint32_t oid = oids::timestamp;
  static param encode(const timestamp& v);
  static timestamp decode(const field& f);
};

template <>
struct value_codec<std::chrono::year_month_day> {
  static constexpr std::uint32_t oid = oids::date;
  static param encode(const std::chrono::year_month_day& v);
  // 'infinity' and dates beyond years -32767..32767 throw value_out_of_range.
  static std::chrono::year_month_day decode(const field& f);
};

// --- NULL, param, arrays -------------------------------------------------------------------

template <class T>
struct value_codec<std::optional<T>> {
  static constexpr std::uint32_t oid = detail::oid_of<T>();
  static param encode(const std::optional<T>& v) {
    return v ? value_codec<T>::encode(*v) : param{oid, std::nullopt, false};
  }
  static std::optional<T> decode(const field& f) { return value_codec<T>::decode(f); }
  static std::optional<T> null_value() { return std::nullopt; }  // what field::as gives for NULL
};
template <>
struct value_codec<std::nullopt_t> {
  static param encode(std::nullopt_t) { return {}; }
};
template <>
struct value_codec<std::nullptr_t> {
  static param encode(std::nullptr_t) { return {}; }
};
template <>
struct value_codec<param> {
  static param encode(const param& p) { return p; }
};

// std::vector<T>: a one-dimensional T[] (lower bound 1 when sent; any lower bound read).
// NULL elements need std::vector<std::optional<T>>. Multi-dimensional arrays throw
// type_mismatch.
template <class T, class Allocator>
struct value_codec<std::vector<T, Allocator>> {
  static constexpr std::uint32_t oid = detail::array_type_of(detail::oid_of<T>());
  static param encode(const std::vector<T, Allocator>& v) {
    std::vector<param> items;
    items.reserve(v.size());
    for (const auto& x : v) items.push_back(value_codec<T>::encode(x));
    return detail::encode_array(items, detail::oid_of<T>());
  }
  static std::vector<T, Allocator> decode(const field& f) {
    detail::array_items items;
    detail::split_array(f, items);
    std::vector<T, Allocator> out;
    out.reserve(items.values.size());
    for (std::size_t i = 0; i < items.values.size(); ++i) {
      out.push_back(
          f.element(items.values[i], items.element_type, items.binary, i).template as<T>());
    }
    return out;
  }
};

template <class T>
T field::as() const {
  if (null_) {
    if constexpr (requires { value_codec<T>::null_value(); }) {
      return value_codec<T>::null_value();
    } else {
      throw_unexpected_null(*this, detail::cpp_name<T>());
    }
  }
  return value_codec<T>::decode(*this);
}

}  // namespace balrog::pg
