// The first value of a header field, as a std::string_view (empty when absent), for requests
// and responses alike.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <string_view>

namespace balrog::http::server::detail {

template <class Name>
std::string_view field_value(const boost::beast::http::fields& fields, const Name& name) {
  const auto it = fields.find(name);
  if (it == fields.end()) return {};
  return {it->value().data(), it->value().size()};
}

inline boost::beast::string_view beast_view(std::string_view s) noexcept {
  return {s.data(), s.size()};
}

}  // namespace balrog::http::server::detail
