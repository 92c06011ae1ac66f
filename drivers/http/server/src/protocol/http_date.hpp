// Dates as HTTP writes them (RFC 9110 §5.6.7, IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT").
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace balrog::http::server::detail {

// Now, formatted once per second per thread (every response carries a Date field).
[[nodiscard]] std::string_view http_date_now() noexcept;
[[nodiscard]] std::string format_http_date(std::time_t t);
// Parses an IMF-fixdate (the only form senders may generate); nullopt for anything else.
[[nodiscard]] std::optional<std::time_t> parse_http_date(std::string_view text);

}  // namespace balrog::http::server::detail
