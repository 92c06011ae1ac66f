#include "protocol/connect_timeout.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace balrog::pg::detail {

// libpq's parse_int_param: a timeout is in force unless the value is an integer <= 0 (an
// invalid value makes libpq fail the connection: its own function reports that too).
bool timeout_in_force(const char* value) noexcept {
  if (value == nullptr || *value == '\0') return false;
  errno = 0;
  char* end = nullptr;
  const long n = std::strtol(value, &end, 10);
  if (end == value || errno != 0 || n < INT_MIN || n > INT_MAX) return true;
  while (*end != '\0' && std::isspace(static_cast<unsigned char>(*end)) != 0) ++end;
  if (*end != '\0') return true;
  return n > 0;
}

namespace {

// libpq's recognized_connection_string.
bool is_connection_string(const char* s) noexcept {
  if (s == nullptr) return false;
  const std::string_view v(s);
  return v.starts_with("postgresql://") || v.starts_with("postgres://") ||
         v.find('=') != std::string_view::npos;
}

// A connect_timeout may apply: set in the options, in the environment, or possibly in a
// service file (any service counts: erring this way only costs an offload thread).
bool option_sets_timeout(const char* keyword, const char* value) noexcept {
  if (keyword == nullptr || value == nullptr) return false;
  if (std::strcmp(keyword, "connect_timeout") == 0) return timeout_in_force(value);
  return std::strcmp(keyword, "service") == 0 && *value != '\0';
}

}  // namespace

bool environment_sets_timeout() noexcept {
  const char* service = std::getenv("PGSERVICE");
  return timeout_in_force(std::getenv("PGCONNECT_TIMEOUT")) ||
         (service != nullptr && *service != '\0');
}

bool conninfo_sets_timeout(const char* conninfo) noexcept {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo, &error);
  PQfreemem(error);
  if (options == nullptr) return true;  // libpq's own function reports the problem
  bool found = false;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    found = found || option_sets_timeout(o->keyword, o->val);
  }
  PQconninfoFree(options);
  return found;
}

bool params_set_timeout(const char* const* keywords, const char* const* values,
                        int expand_dbname) noexcept {
  if (keywords == nullptr || values == nullptr) return false;
  bool expanded = false;
  for (int i = 0; keywords[i] != nullptr; ++i) {
    if (option_sets_timeout(keywords[i], values[i])) return true;
    if (expand_dbname != 0 && !expanded && std::strcmp(keywords[i], "dbname") == 0 &&
        is_connection_string(values[i])) {
      expanded = true;
      if (conninfo_sets_timeout(values[i])) return true;
    }
  }
  return false;
}

}  // namespace balrog::pg::detail
