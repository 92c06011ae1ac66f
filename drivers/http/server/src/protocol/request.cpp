#include "balrog/http/server/request.hpp"

#include <boost/json/parse.hpp>

#include "balrog/errors.hpp"
#include "protocol/field_lookup.hpp"
#include "protocol/target.hpp"

namespace balrog::http::server {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

request::request(message_type message, net::endpoint remote)
    : message_(std::move(message)), remote_(std::move(remote)) {}

std::string_view request::method_string() const noexcept {
  const auto s = message_.method_string();
  return {s.data(), s.size()};
}

std::string_view request::target() const noexcept {
  const auto s = message_.target();
  return {s.data(), s.size()};
}

std::string_view request::path() const noexcept { return detail::path_of(target()); }

std::string_view request::query() const noexcept { return detail::query_of(target()); }

std::optional<std::string> request::query_param(std::string_view name) const {
  std::string_view rest = query();
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    if (percent_decode(key, true) != name) continue;
    return eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1), true);
  }
  return std::nullopt;
}

std::string_view request::header(field name) const { return detail::field_value(message_, name); }

std::string_view request::header(std::string_view name) const {
  return detail::field_value(message_, detail::beast_view(name));
}

boost::json::value request::json() const {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(message_.body(), ec);
  if (ec) throw http_error(status::bad_request, "the request body is not JSON: " + ec.message());
  return v;
}

std::string_view request::param(std::string_view name) const {
  for (const auto& [key, value] : params_) {
    if (key == name) return value;
  }
  throw usage_error("balrog::http::server::request::param: the route of " + std::string(path()) +
                    " has no parameter '" + std::string(name) + "'");
}

}  // namespace balrog::http::server
