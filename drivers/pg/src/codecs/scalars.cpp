// value_codec for bool, integers, floats, strings, numeric, bytea, uuid and json.
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <string>
#include <system_error>

#include "balrog/pg/types.hpp"
#include "codecs/wire.hpp"

namespace balrog::pg {

namespace {

// The field's type is one of `accepted` (or unknown: a value made by hand).
bool type_in(const field& f, std::initializer_list<std::uint32_t> accepted) {
  if (f.type() == 0) return true;
  for (std::uint32_t t : accepted) {
    if (f.type() == t) return true;
  }
  return false;
}

template <class F>
std::string format_float(F v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  std::array<char, 64> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);  // shortest exact
  return std::string(buf.data(), end);
}

template <class F>
F parse_float(const field& f, std::string_view text, std::string_view cpp_type) {
  F v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range) throw_out_of_range(f, cpp_type);
  if (ec != std::errc() || end != text.data() + text.size()) throw_malformed(f, "float");
  return v;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// bytea's text output: hex ("\x0aff", the default) or the old escape format.
std::string unescape_bytea(const field& f) {
  std::string_view t = f.raw();
  std::string out;
  if (t.starts_with("\\x")) {
    t.remove_prefix(2);
    if (t.size() % 2 != 0) throw_malformed(f, "bytea");
    out.reserve(t.size() / 2);
    for (std::size_t i = 0; i < t.size(); i += 2) {
      const int hi = hex_value(t[i]);
      const int lo = hex_value(t[i + 1]);
      if (hi < 0 || lo < 0) throw_malformed(f, "bytea");
      out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return out;
  }
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '\\') {
      out.push_back(t[i]);
    } else if (i + 1 < t.size() && t[i + 1] == '\\') {
      out.push_back('\\');
      ++i;
    } else if (i + 3 < t.size() && t[i + 1] >= '0' && t[i + 1] <= '3' && t[i + 2] >= '0' &&
               t[i + 2] <= '7' && t[i + 3] >= '0' && t[i + 3] <= '7') {
      out.push_back(
          static_cast<char>((t[i + 1] - '0') * 64 + (t[i + 2] - '0') * 8 + (t[i + 3] - '0')));
      i += 3;
    } else {
      throw_malformed(f, "bytea");
    }
  }
  return out;
}

std::string bytes_of(const field& f) {
  if (!type_in(f, {oids::bytea})) throw_type_mismatch(f, "bytea");
  return f.is_binary() ? std::string(f.raw()) : unescape_bytea(f);
}

std::string json_text(const field& f, std::string_view cpp_type) {
  if (!type_in(f, {oids::json, oids::jsonb})) throw_type_mismatch(f, cpp_type);
  std::string_view t = f.raw();
  if (f.is_binary() && f.type() == oids::jsonb) {
    if (t.empty() || t[0] != 1) throw_malformed(f, "jsonb");  // version 1, then the text
    t.remove_prefix(1);
  }
  return std::string(t);
}

}  // namespace

// --- bool ----------------------------------------------------------------------------------

param value_codec<bool>::encode(bool v) { return param{oid, std::string(v ? "t" : "f"), false}; }

bool value_codec<bool>::decode(const field& f) {
  if (!type_in(f, {oids::bool_})) throw_type_mismatch(f, "bool");
  const std::string_view t = f.raw();
  if (f.is_binary()) {
    if (t.size() != 1) throw_malformed(f, "bool");
    return t[0] != 0;
  }
  if (t == "t" || t == "true") return true;
  if (t == "f" || t == "false") return false;
  throw_malformed(f, "bool");
}

// --- integers ------------------------------------------------------------------------------

namespace detail {

param encode_integer(std::int64_t v, std::uint32_t oid) {
  std::array<char, 24> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return param{oid, std::string(buf.data(), end), false};
}

std::int64_t decode_integer(const field& f, std::string_view cpp_type, std::int64_t min,
                            std::int64_t max) {
  if (!type_in(f, {oids::int2, oids::int4, oids::int8, oids::oid})) {
    throw_type_mismatch(f, cpp_type);
  }
  std::int64_t v = 0;
  const std::string_view t = f.raw();
  if (f.is_binary()) {
    switch (t.size()) {
      case 2:
        v = static_cast<std::int16_t>(read_be<std::uint16_t>(t.data()));
        break;
      case 4:
        v = f.type() == oids::oid ? static_cast<std::int64_t>(read_be<std::uint32_t>(t.data()))
                                  : static_cast<std::int32_t>(read_be<std::uint32_t>(t.data()));
        break;
      case 8:
        v = static_cast<std::int64_t>(read_be<std::uint64_t>(t.data()));
        break;
      default:
        throw_malformed(f, type_name(f.type()));
    }
  } else {
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec == std::errc::result_out_of_range) throw_out_of_range(f, cpp_type);
    if (ec != std::errc() || end != t.data() + t.size()) throw_malformed(f, "integer");
  }
  if (v < min || v > max) throw_out_of_range(f, cpp_type);
  return v;
}

}  // namespace detail

// --- floats --------------------------------------------------------------------------------

param value_codec<float>::encode(float v) { return param{oid, format_float(v), false}; }
param value_codec<double>::encode(double v) { return param{oid, format_float(v), false}; }

double value_codec<double>::decode(const field& f) {
  if (!type_in(f, {oids::float8, oids::float4, oids::numeric})) throw_type_mismatch(f, "double");
  if (!f.is_binary()) return parse_float<double>(f, f.raw(), "double");
  if (f.type() == oids::numeric) {
    return parse_float<double>(f, detail::numeric_binary_to_text(f), "double");
  }
  if (f.raw().size() == 4)
    return std::bit_cast<float>(detail::read_be<std::uint32_t>(f.raw().data()));
  return std::bit_cast<double>(detail::read_exact<std::uint64_t>(f, "float8"));
}

float value_codec<float>::decode(const field& f) {
  if (!type_in(f, {oids::float4, oids::float8, oids::numeric})) throw_type_mismatch(f, "float");
  if (!f.is_binary()) return parse_float<float>(f, f.raw(), "float");
  if (f.raw().size() == 4 && f.type() != oids::numeric) {
    return std::bit_cast<float>(detail::read_be<std::uint32_t>(f.raw().data()));
  }
  const double d = value_codec<double>::decode(f);
  if (std::isfinite(d) && std::abs(d) > static_cast<double>(std::numeric_limits<float>::max())) {
    throw_out_of_range(f, "float");
  }
  return static_cast<float>(d);
}

// --- strings -------------------------------------------------------------------------------

param value_codec<std::string>::encode(const std::string& v) { return param{0, v, false}; }
param value_codec<std::string_view>::encode(std::string_view v) {
  return param{0, std::string(v), false};
}
param value_codec<const char*>::encode(const char* v) {
  if (v == nullptr) return param{};
  return param{0, std::string(v), false};
}

std::string value_codec<std::string>::decode(const field& f) {
  if (!f.is_binary() || detail::is_text_like(f.type()) || f.type() == 0) {
    return std::string(f.raw());
  }
  if (auto text = detail::binary_as_text(f)) return std::move(*text);
  throw_type_mismatch(f, "std::string (ask for text results, or cast it to text in SQL)");
}

std::string_view value_codec<std::string_view>::decode(const field& f) {
  if (!f.is_binary() || detail::is_text_like(f.type()) || f.type() == 0) return f.raw();
  throw_type_mismatch(f, "std::string_view (read it as std::string)");
}

// --- numeric -------------------------------------------------------------------------------

param value_codec<numeric>::encode(const numeric& v) { return param{oid, v.digits, false}; }

numeric value_codec<numeric>::decode(const field& f) {
  if (!type_in(f, {oids::numeric, oids::int2, oids::int4, oids::int8})) {
    throw_type_mismatch(f, "pg::numeric");
  }
  if (!f.is_binary() || f.type() == 0) return numeric{std::string(f.raw())};
  if (f.type() == oids::numeric) return numeric{detail::numeric_binary_to_text(f)};
  return numeric{std::to_string(detail::decode_integer(f, "pg::numeric",
                                                       std::numeric_limits<std::int64_t>::min(),
                                                       std::numeric_limits<std::int64_t>::max()))};
}

namespace detail {

// numeric's binary form: ndigits, weight, sign, dscale (int16 each), then ndigits base-10000
// digits; the value is sum(digit[i] * 10000^(weight - i)), shown with dscale decimals.
std::string numeric_binary_to_text(const field& f) {
  const std::string_view t = f.raw();
  if (t.size() < 8) throw_malformed(f, "numeric");
  const int ndigits = static_cast<std::int16_t>(read_be<std::uint16_t>(t.data()));
  const int weight = static_cast<std::int16_t>(read_be<std::uint16_t>(t.data() + 2));
  const std::uint16_t sign = read_be<std::uint16_t>(t.data() + 4);
  const int dscale = static_cast<std::int16_t>(read_be<std::uint16_t>(t.data() + 6));
  if (ndigits < 0 || dscale < 0 || t.size() != 8 + 2 * static_cast<std::size_t>(ndigits)) {
    throw_malformed(f, "numeric");
  }
  switch (sign) {
    case 0x0000:
    case 0x4000:
      break;
    case 0xC000:
      return "NaN";
    case 0xD000:
      return "Infinity";
    case 0xF000:
      return "-Infinity";
    default:
      throw_malformed(f, "numeric");
  }
  auto digit = [&](int i) -> int {
    if (i < 0 || i >= ndigits) return 0;
    const int d = read_be<std::uint16_t>(t.data() + 8 + 2 * i);
    if (d > 9999) throw_malformed(f, "numeric");
    return d;
  };
  std::string out;
  if (sign == 0x4000) out.push_back('-');
  if (weight < 0) {
    out.push_back('0');
  } else {
    for (int i = 0; i <= weight; ++i) {
      std::string group = std::to_string(digit(i));
      if (i > 0) group.insert(0, 4 - group.size(), '0');
      out += group;
    }
  }
  if (dscale > 0) {
    out.push_back('.');
    std::string frac;
    for (int i = weight + 1; static_cast<int>(frac.size()) < dscale; ++i) {
      std::string group = std::to_string(digit(i));
      frac += std::string(4 - group.size(), '0') + group;
    }
    out += frac.substr(0, static_cast<std::size_t>(dscale));
  }
  return out;
}

std::string hex_bytea(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::optional<std::string> binary_as_text(const field& f) {
  switch (f.type()) {
    case oids::bool_:
      return std::string(value_codec<bool>::decode(f) ? "t" : "f");
    case oids::int2:
    case oids::int4:
    case oids::int8:
    case oids::oid:
      return std::to_string(decode_integer(f, "std::string",
                                           std::numeric_limits<std::int64_t>::min(),
                                           std::numeric_limits<std::int64_t>::max()));
    case oids::float4:
      return format_float(value_codec<float>::decode(f));
    case oids::float8:
      return format_float(value_codec<double>::decode(f));
    case oids::numeric:
      return numeric_binary_to_text(f);
    case oids::uuid:
      return value_codec<uuid>::decode(f).to_string();
    case oids::bytea:
      return hex_bytea(f.raw());
    case oids::jsonb:
      return json_text(f, "std::string");
    case oids::date:
      return format_date(decode_date_days(f));
    case oids::timestamp:
    case oids::timestamptz:
      return format_timestamp(decode_timestamp(f, f.type(), "std::string"),
                              f.type() == oids::timestamptz);
    default:
      return std::nullopt;
  }
}

}  // namespace detail

// --- bytea ---------------------------------------------------------------------------------

param value_codec<bytea>::encode(const bytea& v) {
  return param{oid, std::string(reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size()),
               true};
}
bytea value_codec<bytea>::decode(const field& f) {
  return bytea{value_codec<std::vector<std::byte>>::decode(f)};
}
param value_codec<std::vector<std::byte>>::encode(const std::vector<std::byte>& v) {
  return param{oid, std::string(reinterpret_cast<const char*>(v.data()), v.size()), true};
}
std::vector<std::byte> value_codec<std::vector<std::byte>>::decode(const field& f) {
  const std::string b = bytes_of(f);
  const auto* p = reinterpret_cast<const std::byte*>(b.data());
  return std::vector<std::byte>(p, p + b.size());
}

// --- uuid ----------------------------------------------------------------------------------

uuid uuid::parse(std::string_view text) {
  std::string_view t = text;
  if (t.size() >= 2 && t.front() == '{' && t.back() == '}') t = t.substr(1, t.size() - 2);
  uuid u;
  std::size_t n = 0;  // hex digits read
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '-') {
      // Postgres allows a hyphen after any group of four digits, never two in a row.
      if (n == 0 || n % 4 != 0 || n == 32 || t[i - 1] == '-') throw_bad_value("type uuid", text);
      continue;
    }
    const int v = hex_value(t[i]);
    if (v < 0 || n == 32) throw_bad_value("type uuid", text);
    u.bytes[n / 2] = static_cast<std::uint8_t>(n % 2 == 0 ? v << 4 : u.bytes[n / 2] | v);
    ++n;
  }
  if (n != 32) throw_bad_value("type uuid", text);
  return u;
}

std::string uuid::to_string() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 15]);
  }
  return out;
}

param value_codec<uuid>::encode(const uuid& v) { return param{oid, v.to_string(), false}; }

uuid value_codec<uuid>::decode(const field& f) {
  if (!type_in(f, {oids::uuid})) throw_type_mismatch(f, "pg::uuid");
  if (f.is_binary()) {
    if (f.raw().size() != 16) throw_malformed(f, "uuid");
    uuid u;
    for (std::size_t i = 0; i < 16; ++i) u.bytes[i] = static_cast<std::uint8_t>(f.raw()[i]);
    return u;
  }
  try {
    return uuid::parse(f.raw());
  } catch (const malformed_value&) {
    throw_malformed(f, "uuid");
  }
}

// --- json ----------------------------------------------------------------------------------

param value_codec<json>::encode(const json& v) { return param{oid, v.text, false}; }
json value_codec<json>::decode(const field& f) { return json{json_text(f, "pg::json")}; }
param value_codec<jsonb>::encode(const jsonb& v) { return param{oid, v.text, false}; }
jsonb value_codec<jsonb>::decode(const field& f) { return jsonb{json_text(f, "pg::jsonb")}; }

}  // namespace balrog::pg
