// What the codec sources share: big-endian reads and writes, and renderers of binary values as
// Postgres would print them (std::string reads any built-in type in either format).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "balrog/pg/types.hpp"

namespace balrog::pg::detail {

template <class U>
U read_be(const char* p) noexcept {
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) {
    v = static_cast<U>((v << 8) | static_cast<U>(static_cast<unsigned char>(p[i])));
  }
  return v;
}
template <class U>
void append_be(std::string& out, U v) {
  for (std::size_t i = sizeof(U); i-- > 0;) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// The field's bytes as a signed/unsigned integer of exactly sizeof(U) bytes; malformed_value
// when the size differs.
template <class U>
U read_exact(const field& f, std::string_view pg_type) {
  if (f.raw().size() != sizeof(U)) throw_malformed(f, pg_type);
  return read_be<U>(f.raw().data());
}

// text, varchar, bpchar, name, char, unknown, json, xml: binary bytes are the text itself.
bool is_text_like(std::uint32_t oid) noexcept;
// A type balrog knows that is not an array (so an array cannot be read from it).
bool is_known_scalar(std::uint32_t oid) noexcept;

// Binary value of a built-in type as Postgres' text output (timestamptz in UTC, "+00");
// nullopt for a type balrog cannot render.
std::optional<std::string> binary_as_text(const field& f);

std::string numeric_binary_to_text(const field& f);
// Microseconds since 1970 (or the infinities) as "2024-01-02 03:04:05.123456[+00][ BC]".
std::string format_timestamp(std::int64_t unix_us, bool with_zone);
// Days since 1970-01-01 as "2024-01-02[ BC]"; the int32 infinities as "infinity".
std::string format_date(std::int64_t unix_days);
std::int64_t decode_date_days(const field& f);  // days since 1970 (date, either format)
std::string hex_bytea(std::string_view bytes);  // "\x0aff"

// Postgres epoch (2000-01-01) relative to the Unix one.
inline constexpr std::int64_t pg_epoch_days = 10957;
inline constexpr std::int64_t pg_epoch_us = pg_epoch_days * 86'400'000'000LL;

}  // namespace balrog::pg::detail
