// Shared bits of the client tests: blocking-style calls, JSON access, fd counting.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstddef>
#include <string>
#include <string_view>

#include "balrog/await.hpp"
#include "balrog/http/client.hpp"
#include "balrog/http/generated/client_blocking.hpp"
#include "support/open_fds.hpp"

namespace balrog::test {

// A request from blocking-style code (a fiber, or a plain thread: sync mode), through the
// generated blocking-style face.
inline http::response fetch(std::string method, std::string url, http::request_options o = {}) {
  return http::blocking::request(std::move(method), std::move(url), std::move(o));
}
inline http::response fetch(http::session& s, std::string method, std::string url,
                            http::request_options o = {}) {
  return http::blocking::request(s, std::move(method), std::move(url), std::move(o));
}

// The /echo answer of the Python peer.
inline boost::json::object echo_of(const http::response& r) {
  EXPECT_EQ(r.status(), 200) << r.text();
  return r.json().as_object();
}

// The value of a request header the peer saw (case-insensitive), "" if absent.
inline std::string seen_header(const boost::json::object& echo, std::string_view name) {
  for (const auto& h : echo.at("headers").as_array()) {
    const auto& pair = h.as_array();
    std::string n(pair[0].as_string());
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return std::string(pair[1].as_string());
    }
  }
  return "";
}

// The byte at offset i of the peer's /bytes and /chunked bodies.
inline char pattern_byte(std::size_t i) {
  const std::size_t j = i % 65536;
  return static_cast<char>((j * 131 + j / 4096) & 0xff);
}

inline bool is_pattern(const std::string& body, std::size_t from = 0) {
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != pattern_byte(from + i)) return false;
  }
  return true;
}

}  // namespace balrog::test
