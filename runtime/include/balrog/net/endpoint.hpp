// balrog/net/endpoint.hpp — the address of a stream socket: IPv4, IPv6 or a Unix socket.
//
//   auto ep = balrog::net::endpoint::parse("127.0.0.1:8080");
//   auto ep6 = balrog::net::endpoint::parse("[::1]:8080");
//   auto local = balrog::net::endpoint::parse("unix:/run/app.sock");
//   auto abstract = balrog::net::endpoint::unix_path("@app");  // Linux abstract namespace
//
// An endpoint is a value: a sockaddr_storage and its length, ready for bind(2)/connect(2)
// (data() and size()), copyable, comparable. It never resolves names: parse() accepts numeric
// addresses only, and net::resolve (resolve.hpp) turns host names into endpoints.
//
// The textual form, produced by to_string() and accepted by parse():
//   IPv4      "127.0.0.1:8080"
//   IPv6      "[::1]:8080", "[fe80::1%eth0]:8080" (a scope by interface name or number)
//   Unix      "unix:/path/to/socket" (relative paths work too: "unix:app.sock")
//   abstract  "unix:@name": a Linux abstract socket, no file on disk; the name is the bytes
//             after '@' (the kernel's leading NUL byte is written as '@').
// An unnamed Unix socket (the client end of a Unix connection) prints as "unix:" and cannot be
// parsed. A default-constructed endpoint is empty (family() == AF_UNSPEC) and prints "(none)".
//
// Errors: the factories throw balrog::usage_error naming the offending text: an address that is
// not numeric, a missing or bad port ("127.0.0.1", "127.0.0.1:99999", "[::1]:"), an IPv6 address
// without brackets, an empty Unix path, or a Unix path longer than sun_path allows
// (max_unix_path bytes). Nothing else throws.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace balrog::net {

class endpoint {
 public:
  // Longest Unix path (or abstract name, not counting its '@') that fits in sun_path.
  static constexpr std::size_t max_unix_path = 107;

  // An empty endpoint: family() == AF_UNSPEC, size() == 0.
  endpoint() noexcept;

  // Parses the textual form above. Throws usage_error.
  static endpoint parse(std::string_view text);

  // 127.0.0.1 is ipv4({127, 0, 0, 1}, port). Port 0 asks bind(2) for an ephemeral port.
  static endpoint ipv4(std::array<std::uint8_t, 4> address, std::uint16_t port) noexcept;
  // An IPv6 address in network order; scope_id is the interface index for link-local addresses.
  static endpoint ipv6(const std::array<std::uint8_t, 16>& address, std::uint16_t port,
                       std::uint32_t scope_id = 0) noexcept;
  // 127.0.0.1:port.
  static endpoint loopback(std::uint16_t port) noexcept;
  // A Unix socket path; a leading '@' names an abstract socket. Throws usage_error if the path
  // is empty or longer than max_unix_path.
  static endpoint unix_path(std::string_view path);

  // Copies what getsockname/getpeername/accept/getaddrinfo returned. Families other than
  // AF_INET, AF_INET6 and AF_UNIX, or a length that does not fit, throw usage_error.
  static endpoint from_sockaddr(const sockaddr* address, socklen_t length);

  // AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC when empty.
  [[nodiscard]] int family() const noexcept { return storage_.ss_family; }
  [[nodiscard]] bool empty() const noexcept { return family() == AF_UNSPEC; }
  [[nodiscard]] bool is_ip() const noexcept { return family() == AF_INET || family() == AF_INET6; }
  [[nodiscard]] bool is_unix() const noexcept { return family() == AF_UNIX; }
  // 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. False for Unix and empty endpoints.
  [[nodiscard]] bool is_loopback() const noexcept;

  // The port in host order; 0 for Unix and empty endpoints.
  [[nodiscard]] std::uint16_t port() const noexcept;
  // The address without the port ("127.0.0.1", "::1", "fe80::1%2"); the path for Unix
  // endpoints ("/tmp/s", "@name", "" when unnamed); "" when empty.
  [[nodiscard]] std::string address() const;

  // For the socket calls: bind(fd, ep.data(), ep.size()).
  [[nodiscard]] const sockaddr* data() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage_);
  }
  [[nodiscard]] socklen_t size() const noexcept { return size_; }

  // The textual form (see the top of this file).
  [[nodiscard]] std::string to_string() const;
  friend std::ostream& operator<<(std::ostream& os, const endpoint& ep);

  // Same family, address, port (and IPv6 scope), or the same Unix name.
  friend bool operator==(const endpoint& a, const endpoint& b) noexcept;

 private:
  sockaddr_storage storage_;
  socklen_t size_ = 0;
};

}  // namespace balrog::net
