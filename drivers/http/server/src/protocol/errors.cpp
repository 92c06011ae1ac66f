#include "balrog/http/server/errors.hpp"

#include <boost/beast/http/status.hpp>

namespace balrog::http::server {

namespace {

std::string reason_of(status code) {
  const auto r = boost::beast::http::obsolete_reason(code);
  return {r.data(), r.size()};
}

}  // namespace

http_error::http_error(status code, std::string message)
    : http::error("balrog::http::server: " + std::to_string(static_cast<unsigned>(code)) + " " +
                  reason_of(code) + (message.empty() ? std::string() : ": " + message)),
      code_(code),
      message_(message.empty() ? reason_of(code) : std::move(message)) {}

}  // namespace balrog::http::server
