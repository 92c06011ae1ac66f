#include "protocol/target.hpp"

namespace balrog::http::server::detail {

namespace {

// Drops "scheme://authority" from an absolute-form target.
std::string_view without_authority(std::string_view target) noexcept {
  if (target.empty() || target.front() == '/' || target == "*") return target;
  const std::size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return target;
  const std::size_t path_start = target.find_first_of("/?#", scheme_end + 3);
  return path_start == std::string_view::npos ? std::string_view{} : target.substr(path_start);
}

}  // namespace

std::string_view path_of(std::string_view target) noexcept {
  std::string_view rest = without_authority(target);
  rest = rest.substr(0, rest.find_first_of("?#"));
  return rest.empty() ? std::string_view("/") : rest;
}

std::string_view query_of(std::string_view target) noexcept {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  return query.substr(0, query.find('#'));
}

}  // namespace balrog::http::server::detail
