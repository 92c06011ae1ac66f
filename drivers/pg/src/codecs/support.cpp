// Codec plumbing: type names, the conversion errors, and which OIDs are what.
#include <string>

#include "balrog/pg/types.hpp"
#include "codecs/wire.hpp"

namespace balrog::pg {

namespace {

template <class E>
[[noreturn]] void raise(const char* sqlstate, std::string message) {
  error::fields f;
  f.sqlstate = sqlstate;
  f.severity = "ERROR";
  f.primary = std::move(message);
  throw E(std::move(f));
}

// The value as a short quoted excerpt for messages (binary values are not shown).
std::string excerpt(const field& f) {
  if (f.is_binary()) return "(" + std::to_string(f.raw().size()) + " bytes, binary)";
  std::string_view t = f.raw();
  std::string out = "\"" + std::string(t.substr(0, 64));
  if (t.size() > 64) out += "...";
  return out + "\"";
}

}  // namespace

void throw_unexpected_null(const field& f, std::string_view cpp_type) {
  raise<unexpected_null>(
      "22004", f.describe() + " is NULL; read it as std::optional<" + std::string(cpp_type) + ">");
}

void throw_type_mismatch(const field& f, std::string_view cpp_type) {
  std::string m = f.describe() + ": cannot read " + detail::type_name(f.type()) +
                  (f.is_binary() ? " (binary)" : "") + " as " + std::string(cpp_type);
  raise<type_mismatch>("42804", std::move(m));
}

void throw_out_of_range(const field& f, std::string_view cpp_type) {
  std::string m = f.describe() + ": " + detail::type_name(f.type()) + " value " + excerpt(f) +
                  " is out of range for " + std::string(cpp_type);
  raise<value_out_of_range>("22003", std::move(m));
}

void throw_malformed(const field& f, std::string_view pg_type) {
  raise<malformed_value>("22P02", f.describe() + ": invalid " + std::string(pg_type) +
                                      (f.is_binary() ? " binary value " : " value ") + excerpt(f));
}

void throw_unrepresentable(std::string_view what) {
  raise<value_out_of_range>("22003", "parameter out of range: " + std::string(what));
}

void throw_bad_value(const char* what, std::string_view text) {
  raise<malformed_value>(
      "22P02", std::string("invalid input syntax for ") + what + ": \"" + std::string(text) + "\"");
}

namespace detail {

std::uint32_t element_type_of(std::uint32_t array) {
  switch (array) {
    case oids::bool_array:
      return oids::bool_;
    case oids::bytea_array:
      return oids::bytea;
    case oids::char_array:
      return oids::char_;
    case oids::name_array:
      return oids::name;
    case oids::int2_array:
      return oids::int2;
    case oids::int4_array:
      return oids::int4;
    case oids::int8_array:
      return oids::int8;
    case oids::text_array:
      return oids::text;
    case oids::oid_array:
      return oids::oid;
    case oids::json_array:
      return oids::json;
    case oids::xml_array:
      return oids::xml;
    case oids::float4_array:
      return oids::float4;
    case oids::float8_array:
      return oids::float8;
    case oids::bpchar_array:
      return oids::bpchar;
    case oids::varchar_array:
      return oids::varchar;
    case oids::date_array:
      return oids::date;
    case oids::timestamp_array:
      return oids::timestamp;
    case oids::timestamptz_array:
      return oids::timestamptz;
    case oids::numeric_array:
      return oids::numeric;
    case oids::uuid_array:
      return oids::uuid;
    case oids::jsonb_array:
      return oids::jsonb;
    default:
      return 0;
  }
}

namespace {
const char* scalar_name(std::uint32_t oid) {
  switch (oid) {
    case oids::bool_:
      return "bool";
    case oids::bytea:
      return "bytea";
    case oids::char_:
      return "\"char\"";
    case oids::name:
      return "name";
    case oids::int2:
      return "int2";
    case oids::int4:
      return "int4";
    case oids::int8:
      return "int8";
    case oids::text:
      return "text";
    case oids::oid:
      return "oid";
    case oids::json:
      return "json";
    case oids::xml:
      return "xml";
    case oids::float4:
      return "float4";
    case oids::float8:
      return "float8";
    case oids::unknown:
      return "unknown";
    case oids::bpchar:
      return "bpchar";
    case oids::varchar:
      return "varchar";
    case oids::date:
      return "date";
    case oids::timestamp:
      return "timestamp";
    case oids::timestamptz:
      return "timestamptz";
    case oids::numeric:
      return "numeric";
    case oids::uuid:
      return "uuid";
    case oids::jsonb:
      return "jsonb";
    default:
      return nullptr;
  }
}
}  // namespace

std::string type_name(std::uint32_t oid) {
  if (oid == 0) return "a value of unknown type";
  if (const char* n = scalar_name(oid)) return n;
  if (const char* n = scalar_name(element_type_of(oid))) return std::string(n) + "[]";
  return "type " + std::to_string(oid);
}

bool is_text_like(std::uint32_t oid) noexcept {
  switch (oid) {
    case oids::text:
    case oids::varchar:
    case oids::bpchar:
    case oids::name:
    case oids::char_:
    case oids::unknown:
    case oids::json:
    case oids::xml:
      return true;
    default:
      return false;
  }
}

bool is_known_scalar(std::uint32_t oid) noexcept { return scalar_name(oid) != nullptr; }

}  // namespace detail

}  // namespace balrog::pg
