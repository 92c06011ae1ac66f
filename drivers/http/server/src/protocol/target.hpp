// The parts of a request target (RFC 9112 §3.2): origin-form "/path?query", absolute-form
// "http://host/path?query" (proxies' form, which servers must accept), asterisk-form "*".
#pragma once

#include <string_view>

namespace balrog::http::server::detail {

// The path: "/a/b" of "/a/b?x=1" and of "http://h/a/b?x=1"; "/" for "http://h"; "*" for "*".
[[nodiscard]] std::string_view path_of(std::string_view target) noexcept;
// The query without '?': "x=1" of "/a?x=1"; empty when there is none.
[[nodiscard]] std::string_view query_of(std::string_view target) noexcept;

}  // namespace balrog::http::server::detail
