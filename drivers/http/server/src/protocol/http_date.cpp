#include "protocol/http_date.hpp"

#include <array>
#include <cstdio>
#include <cstring>

namespace balrog::http::server::detail {

namespace {

constexpr std::array<const char*, 7> day_names = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 12> month_names = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::size_t date_length = 29;  // "Sun, 06 Nov 1994 08:49:37 GMT"

// Room for any tm the format can meet (GCC cannot prove a year has four digits).
constexpr std::size_t date_buffer = 64;

void format_into(std::time_t t, char (&out)[date_buffer]) noexcept {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::snprintf(out, sizeof out, "%s, %02d %s %04d %02d:%02d:%02d GMT", day_names[tm.tm_wday],
                tm.tm_mday, month_names[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
}

}  // namespace

std::string_view http_date_now() noexcept {
  thread_local std::time_t cached_second = -1;
  thread_local char cached[date_buffer] = {};
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    format_into(now, cached);
    cached_second = now;
  }
  return {cached, date_length};
}

std::string format_http_date(std::time_t t) {
  char out[date_buffer];
  format_into(t, out);
  return {out, date_length};
}

std::optional<std::time_t> parse_http_date(std::string_view text) {
  if (text.size() != date_length) return std::nullopt;
  const std::string copy(text);
  char day[4] = {};
  char month[4] = {};
  char zone[4] = {};
  std::tm tm{};
  if (std::sscanf(copy.c_str(), "%3s, %2d %3s %4d %2d:%2d:%2d %3s", day, &tm.tm_mday, month,
                  &tm.tm_year, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, zone) != 8 ||
      std::strcmp(zone, "GMT") != 0) {
    return std::nullopt;
  }
  tm.tm_mon = -1;
  for (std::size_t i = 0; i < month_names.size(); ++i) {
    if (std::strcmp(month, month_names[i]) == 0) tm.tm_mon = static_cast<int>(i);
  }
  if (tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  return ::timegm(&tm);
}

}  // namespace balrog::http::server::detail
