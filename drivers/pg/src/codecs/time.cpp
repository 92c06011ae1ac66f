// value_codec for timestamptz, timestamp and date: binary (microseconds or days since
// 2000-01-01) and text (DateStyle ISO: "2024-01-02 03:04:05.123456+01", "0044-03-15 BC").
#include <array>
#include <charconv>
#include <cstdio>
#include <limits>
#include <string>

#include "balrog/pg/types.hpp"
#include "codecs/wire.hpp"

namespace balrog::pg {

namespace {

constexpr std::int64_t us_per_day = 86'400'000'000LL;

struct civil {
  std::int64_t year;  // astronomical: 0 is 1 BC
  int month;
  int day;
};

// Howard Hinnant's days_from_civil / civil_from_days, proleptic Gregorian, any int64 year.
std::int64_t days_from_civil(std::int64_t y, int m, int d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

civil civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  return a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}

void append_padded(std::string& out, std::int64_t v, int width) {
  std::string s = std::to_string(v);
  if (static_cast<int>(s.size()) < width)
    out.append(static_cast<std::size_t>(width) - s.size(), '0');
  out += s;
}

std::string format_civil(const civil& c) {
  std::string out;
  append_padded(out, c.year > 0 ? c.year : 1 - c.year, 4);
  out.push_back('-');
  append_padded(out, c.month, 2);
  out.push_back('-');
  append_padded(out, c.day, 2);
  return out;
}

// A small cursor over ISO date/time text.
struct reader {
  const field& f;
  std::string_view t;
  const char* what;

  [[noreturn]] void fail() const { throw_malformed(f, what); }
  bool eat(char c) {
    if (t.empty() || t.front() != c) return false;
    t.remove_prefix(1);
    return true;
  }
  // Exactly `min`..`max` digits.
  std::int64_t number(std::size_t min, std::size_t max) {
    std::size_t n = 0;
    while (n < t.size() && n < max && t[n] >= '0' && t[n] <= '9') ++n;
    if (n < min) fail();
    std::int64_t v = 0;
    std::from_chars(t.data(), t.data() + n, v);
    t.remove_prefix(n);
    return v;
  }
  // "YYYY-MM-DD" (four or more year digits); days since 1970 without the BC suffix applied.
  civil date() {
    civil c{number(4, 9), 0, 0};
    if (!eat('-')) fail();
    c.month = static_cast<int>(number(2, 2));
    if (!eat('-')) fail();
    c.day = static_cast<int>(number(2, 2));
    if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31) fail();
    return c;
  }
  // " BC" at the end turns year Y into astronomical 1 - Y.
  void era(civil& c) {
    if (t == " BC") {
      c.year = 1 - c.year;
      t = {};
    }
  }
  std::int64_t days(const civil& c) {
    const std::int64_t d = days_from_civil(c.year, c.month, c.day);
    const civil back = civil_from_days(d);
    if (back.month != c.month || back.day != c.day) fail();  // February 30th
    return d;
  }
};

}  // namespace

namespace detail {

std::string format_timestamp(std::int64_t unix_us, bool with_zone) {
  if (unix_us == infinity_us) return "infinity";
  if (unix_us == minus_infinity_us) return "-infinity";
  const std::int64_t days = floor_div(unix_us, us_per_day);
  std::int64_t rest = unix_us - days * us_per_day;
  const civil c = civil_from_days(days);
  std::string out = format_civil(c);
  out.push_back(' ');
  append_padded(out, rest / 3'600'000'000LL, 2);
  rest %= 3'600'000'000LL;
  out.push_back(':');
  append_padded(out, rest / 60'000'000, 2);
  rest %= 60'000'000;
  out.push_back(':');
  append_padded(out, rest / 1'000'000, 2);
  if (std::int64_t us = rest % 1'000'000; us != 0) {
    std::string frac;
    append_padded(frac, us, 6);
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  if (with_zone) out += "+00";
  if (c.year <= 0) out += " BC";
  return out;
}

std::string format_date(std::int64_t unix_days) {
  if (unix_days == infinity_us) return "infinity";
  if (unix_days == minus_infinity_us) return "-infinity";
  const civil c = civil_from_days(unix_days);
  return format_civil(c) + (c.year <= 0 ? " BC" : "");
}

param encode_timestamp(std::int64_t unix_us, std::uint32_t oid) {
  return param{oid, format_timestamp(unix_us, oid == oids::timestamptz), false};
}

std::int64_t decode_timestamp(const field& f, std::uint32_t oid, std::string_view cpp_type) {
  if (f.type() != 0 && f.type() != oid) throw_type_mismatch(f, cpp_type);
  const char* what = oid == oids::timestamptz ? "timestamptz" : "timestamp";
  if (f.is_binary()) {
    const auto pg_us = static_cast<std::int64_t>(read_exact<std::uint64_t>(f, what));
    if (pg_us == std::numeric_limits<std::int64_t>::max()) return infinity_us;
    if (pg_us == std::numeric_limits<std::int64_t>::min()) return minus_infinity_us;
    std::int64_t unix_us = 0;
    if (__builtin_add_overflow(pg_us, pg_epoch_us, &unix_us) || unix_us == infinity_us) {
      throw_out_of_range(f, cpp_type);
    }
    return unix_us;
  }
  reader r{f, f.raw(), what};
  if (r.t == "infinity") return infinity_us;
  if (r.t == "-infinity") return minus_infinity_us;
  civil c = r.date();
  if (!r.eat(' ') && !r.eat('T')) r.fail();
  const std::int64_t hh = r.number(2, 2);
  if (!r.eat(':')) r.fail();
  const std::int64_t mm = r.number(2, 2);
  if (!r.eat(':')) r.fail();
  const std::int64_t ss = r.number(2, 2);
  std::int64_t frac_us = 0;
  if (r.eat('.')) {
    const std::size_t before = r.t.size();
    frac_us = r.number(1, 6);
    for (std::size_t n = before - r.t.size(); n < 6; ++n) frac_us *= 10;
  }
  std::int64_t offset_s = 0;
  if (!r.t.empty() && (r.t.front() == '+' || r.t.front() == '-')) {
    const bool negative = r.t.front() == '-';
    r.t.remove_prefix(1);
    offset_s = r.number(2, 2) * 3600;
    if (r.eat(':')) {
      offset_s += r.number(2, 2) * 60;
      if (r.eat(':')) offset_s += r.number(2, 2);
    }
    if (negative) offset_s = -offset_s;
  }
  r.era(c);
  if (!r.t.empty() || hh > 24 || mm > 59 || ss > 60) r.fail();
  const std::int64_t days = r.days(c);
  const std::int64_t in_day = hh * 3'600'000'000LL + mm * 60'000'000LL + ss * 1'000'000LL +
                              frac_us - offset_s * 1'000'000LL;
  std::int64_t us = 0;
  if (__builtin_mul_overflow(days, us_per_day, &us) || __builtin_add_overflow(us, in_day, &us) ||
      us == infinity_us || us == minus_infinity_us) {
    throw_out_of_range(f, cpp_type);
  }
  return us;
}

std::int64_t decode_date_days(const field& f) {
  if (f.type() != 0 && f.type() != oids::date)
    throw_type_mismatch(f, "std::chrono::year_month_day");
  if (f.is_binary()) {
    const auto pg_days = static_cast<std::int32_t>(read_exact<std::uint32_t>(f, "date"));
    if (pg_days == std::numeric_limits<std::int32_t>::max()) return infinity_us;
    if (pg_days == std::numeric_limits<std::int32_t>::min()) return minus_infinity_us;
    return pg_days + pg_epoch_days;
  }
  reader r{f, f.raw(), "date"};
  if (r.t == "infinity") return infinity_us;
  if (r.t == "-infinity") return minus_infinity_us;
  civil c = r.date();
  r.era(c);
  if (!r.t.empty()) r.fail();
  return r.days(c);
}

}  // namespace detail

// --- timestamp -----------------------------------------------------------------------------

param value_codec<timestamp>::encode(const timestamp& v) {
  using tp = std::chrono::sys_time<std::chrono::microseconds>;
  const std::int64_t us = v.value == tp::max()   ? detail::infinity_us
                          : v.value == tp::min() ? detail::minus_infinity_us
                                                 : v.value.time_since_epoch().count();
  return detail::encode_timestamp(us, oid);
}

timestamp value_codec<timestamp>::decode(const field& f) {
  using tp = std::chrono::sys_time<std::chrono::microseconds>;
  const std::int64_t us = detail::decode_timestamp(f, oid, "pg::timestamp");
  if (us == detail::infinity_us) return timestamp{tp::max()};
  if (us == detail::minus_infinity_us) return timestamp{tp::min()};
  return timestamp{tp(std::chrono::microseconds(us))};
}

// --- date ----------------------------------------------------------------------------------

param value_codec<std::chrono::year_month_day>::encode(const std::chrono::year_month_day& v) {
  if (!v.ok()) throw_unrepresentable("year_month_day is not a valid date");
  return param{oid, detail::format_date(std::chrono::sys_days(v).time_since_epoch().count()),
               false};
}

std::chrono::year_month_day value_codec<std::chrono::year_month_day>::decode(const field& f) {
  const std::int64_t days = detail::decode_date_days(f);
  // year_month_day holds years -32767..32767.
  constexpr std::int64_t lo = -12'687'428;  // days_from_civil(-32767, 1, 1)
  constexpr std::int64_t hi = 11'248'737;   // days_from_civil(32767, 12, 31)
  if (days < lo || days > hi) throw_out_of_range(f, "std::chrono::year_month_day");
  return std::chrono::year_month_day(std::chrono::sys_days(std::chrono::days(days)));
}

}  // namespace balrog::pg
