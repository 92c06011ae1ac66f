#include <random>

#include "balrog/http/server/middleware.hpp"

namespace balrog::http::server {

namespace {

bool acceptable_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (const char c : id) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

std::string fresh_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int half = 0; half < 2; ++half) {
    std::uint64_t bits = random();
    for (int i = 0; i < 16; ++i) {
      id[static_cast<std::size_t>(half * 16 + i)] = hex[bits & 0xf];
      bits >>= 4;
    }
  }
  return id;
}

}  // namespace

middleware request_id(std::string header) {
  return [header = std::move(header)](request& req, const next& rest) {
    const std::string_view given = req.header(header);
    req.set_id(acceptable_id(given) ? std::string(given) : fresh_id());
    response res = rest(req);
    res.set(header, req.id());
    return res;
  };
}

}  // namespace balrog::http::server
