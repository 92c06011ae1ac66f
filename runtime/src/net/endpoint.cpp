#include "balrog/net/endpoint.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <charconv>
#include <cstddef>
#include <cstring>
#include <ostream>

#include "balrog/errors.hpp"

namespace balrog::net {

namespace {

constexpr std::size_t sun_path_offset = offsetof(sockaddr_un, sun_path);

[[noreturn]] void bad_text(std::string_view text, const std::string& why) {
  throw usage_error("balrog::net::endpoint::parse(\"" + std::string(text) + "\"): " + why);
}

std::uint16_t parse_port(std::string_view text, std::string_view port) {
  if (port.empty()) bad_text(text, "missing port after ':'");
  unsigned value = 0;
  const char* end = port.data() + port.size();
  const auto [ptr, ec] = std::from_chars(port.data(), end, value);
  if (ec != std::errc() || ptr != end || port.size() > 5 || value > 65535) {
    bad_text(text, "bad port \"" + std::string(port) + "\" (expected 0-65535)");
  }
  return static_cast<std::uint16_t>(value);
}

std::uint32_t parse_scope(std::string_view text, const std::string& scope) {
  if (scope.empty()) bad_text(text, "empty IPv6 scope after '%'");
  std::uint32_t index = 0;
  const char* end = scope.data() + scope.size();
  const auto [ptr, ec] = std::from_chars(scope.data(), end, index);
  if (ec == std::errc() && ptr == end) return index;
  index = ::if_nametoindex(scope.c_str());
  if (index == 0) bad_text(text, "unknown network interface \"" + scope + "\"");
  return index;
}

}  // namespace

endpoint::endpoint() noexcept : storage_{} { storage_.ss_family = AF_UNSPEC; }

endpoint endpoint::ipv4(std::array<std::uint8_t, 4> address, std::uint16_t port) noexcept {
  endpoint ep;
  auto* sin = reinterpret_cast<sockaddr_in*>(&ep.storage_);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(port);
  std::memcpy(&sin->sin_addr, address.data(), address.size());
  ep.size_ = sizeof(sockaddr_in);
  return ep;
}

endpoint endpoint::ipv6(const std::array<std::uint8_t, 16>& address, std::uint16_t port,
                        std::uint32_t scope_id) noexcept {
  endpoint ep;
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ep.storage_);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  std::memcpy(&sin6->sin6_addr, address.data(), address.size());
  sin6->sin6_scope_id = scope_id;
  ep.size_ = sizeof(sockaddr_in6);
  return ep;
}

endpoint endpoint::loopback(std::uint16_t port) noexcept { return ipv4({127, 0, 0, 1}, port); }

endpoint endpoint::unix_path(std::string_view path) {
  const bool abstract = !path.empty() && path.front() == '@';
  const std::size_t name_length = abstract ? path.size() - 1 : path.size();
  if (path.empty() || (abstract && name_length == 0)) {
    throw usage_error("balrog::net::endpoint::unix_path: empty Unix socket path");
  }
  if (name_length > max_unix_path) {
    throw usage_error("balrog::net::endpoint::unix_path(\"" + std::string(path) +
                      "\"): path too long for a Unix socket (" + std::to_string(name_length) +
                      " bytes, at most " + std::to_string(max_unix_path) + ")");
  }
  if (!abstract && path.find('\0') != std::string_view::npos) {
    throw usage_error("balrog::net::endpoint::unix_path: path contains a NUL byte");
  }
  endpoint ep;
  auto* sun = reinterpret_cast<sockaddr_un*>(&ep.storage_);
  sun->sun_family = AF_UNIX;
  // Abstract names are length-delimited and start with a NUL byte (already zero); paths are
  // NUL-terminated, and the terminator is counted in the length (as the kernel reports it).
  std::memcpy(sun->sun_path + (abstract ? 1 : 0), path.data() + (abstract ? 1 : 0), name_length);
  ep.size_ = static_cast<socklen_t>(sun_path_offset + 1 + name_length);
  return ep;
}

endpoint endpoint::from_sockaddr(const sockaddr* address, socklen_t length) {
  const auto bad = [&](const std::string& why) -> endpoint {
    throw usage_error("balrog::net::endpoint::from_sockaddr: " + why);
  };
  if (address == nullptr || length < static_cast<socklen_t>(sizeof(sa_family_t))) {
    return bad("no address");
  }
  switch (address->sa_family) {
    case AF_INET: {
      if (length < static_cast<socklen_t>(sizeof(sockaddr_in))) return bad("short sockaddr_in");
      sockaddr_in sin{};
      std::memcpy(&sin, address, sizeof sin);
      std::array<std::uint8_t, 4> a{};
      std::memcpy(a.data(), &sin.sin_addr, a.size());
      return ipv4(a, ntohs(sin.sin_port));
    }
    case AF_INET6: {
      if (length < static_cast<socklen_t>(sizeof(sockaddr_in6))) return bad("short sockaddr_in6");
      sockaddr_in6 sin6{};
      std::memcpy(&sin6, address, sizeof sin6);
      std::array<std::uint8_t, 16> a{};
      std::memcpy(a.data(), &sin6.sin6_addr, a.size());
      return ipv6(a, ntohs(sin6.sin6_port), sin6.sin6_scope_id);
    }
    case AF_UNIX: {
      if (length > static_cast<socklen_t>(sizeof(sockaddr_un))) return bad("oversized sockaddr_un");
      sockaddr_un sun{};
      std::memcpy(&sun, address, static_cast<std::size_t>(length));
      const std::size_t room = static_cast<std::size_t>(length) > sun_path_offset
                                   ? static_cast<std::size_t>(length) - sun_path_offset
                                   : 0;
      if (room == 0) {  // unnamed: the client end of a connection, or an unbound socket
        endpoint ep;
        ep.storage_.ss_family = AF_UNIX;
        ep.size_ = static_cast<socklen_t>(sun_path_offset);
        return ep;
      }
      if (sun.sun_path[0] == '\0') {
        return unix_path(std::string("@").append(sun.sun_path + 1, room - 1));
      }
      return unix_path(std::string_view(sun.sun_path, ::strnlen(sun.sun_path, room)));
    }
    default:
      return bad("unsupported address family " + std::to_string(address->sa_family));
  }
}

endpoint endpoint::parse(std::string_view text) {
  if (text.starts_with("unix:")) {
    const std::string_view path = text.substr(5);
    if (path.empty() || path == "@") bad_text(text, "empty Unix socket path");
    if (path.size() - (path.front() == '@' ? 1 : 0) > max_unix_path) {
      bad_text(text, "path too long for a Unix socket (at most " + std::to_string(max_unix_path) +
                         " bytes)");
    }
    return unix_path(path);
  }
  if (text.empty()) bad_text(text, "empty address");
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) bad_text(text, "missing ']' after an IPv6 address");
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty()) bad_text(text, "missing port (expected \"[address]:port\")");
    if (rest.front() != ':') bad_text(text, "expected ':' after ']'");
    const std::uint16_t port = parse_port(text, rest.substr(1));
    std::string host(text.substr(1, close - 1));
    std::uint32_t scope = 0;
    if (const std::size_t pct = host.find('%'); pct != std::string::npos) {
      scope = parse_scope(text, host.substr(pct + 1));
      host.resize(pct);
    }
    std::array<std::uint8_t, 16> a{};
    if (::inet_pton(AF_INET6, host.c_str(), a.data()) != 1) {
      bad_text(text, "\"" + host + "\" is not a numeric IPv6 address");
    }
    return ipv6(a, port, scope);
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) bad_text(text, "missing port (expected \"address:port\")");
  if (text.find(':') != colon) {
    bad_text(text, "an IPv6 address needs brackets, as in \"[::1]:8080\"");
  }
  const std::uint16_t port = parse_port(text, text.substr(colon + 1));
  const std::string host(text.substr(0, colon));
  std::array<std::uint8_t, 4> a{};
  if (::inet_pton(AF_INET, host.c_str(), a.data()) != 1) {
    bad_text(text, "\"" + host + "\" is not a numeric IPv4 address (use net::resolve for names)");
  }
  return ipv4(a, port);
}

bool endpoint::is_loopback() const noexcept {
  if (family() == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&storage_);
    return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
  }
  if (family() == AF_INET6) {
    const auto* a = &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
  }
  return false;
}

std::uint16_t endpoint::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

std::string endpoint::address() const {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (family()) {
    case AF_INET: {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(&storage_);
      ::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
      return buf;
    }
    case AF_INET6: {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
      ::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
      std::string s(buf);
      if (sin6->sin6_scope_id != 0) s.append("%").append(std::to_string(sin6->sin6_scope_id));
      return s;
    }
    case AF_UNIX: {
      const std::size_t room = size_ - sun_path_offset;
      if (room == 0) return {};
      const auto* sun = reinterpret_cast<const sockaddr_un*>(&storage_);
      if (sun->sun_path[0] == '\0') return std::string("@").append(sun->sun_path + 1, room - 1);
      return std::string(sun->sun_path, ::strnlen(sun->sun_path, room));
    }
    default:
      return {};
  }
}

std::string endpoint::to_string() const {
  switch (family()) {
    // append() rather than operator+: GCC 12 at -O3 reports a false -Wrestrict for
    // "literal" + std::string (GCC bug 105651).
    case AF_INET:
      return address().append(":").append(std::to_string(port()));
    case AF_INET6:
      return std::string("[").append(address()).append("]:").append(std::to_string(port()));
    case AF_UNIX:
      return std::string("unix:").append(address());
    default:
      return "(none)";
  }
}

std::ostream& operator<<(std::ostream& os, const endpoint& ep) { return os << ep.to_string(); }

bool operator==(const endpoint& a, const endpoint& b) noexcept {
  if (a.family() != b.family()) return false;
  switch (a.family()) {
    case AF_INET: {
      const auto* x = reinterpret_cast<const sockaddr_in*>(&a.storage_);
      const auto* y = reinterpret_cast<const sockaddr_in*>(&b.storage_);
      return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    case AF_INET6: {
      const auto* x = reinterpret_cast<const sockaddr_in6*>(&a.storage_);
      const auto* y = reinterpret_cast<const sockaddr_in6*>(&b.storage_);
      return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
             std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    case AF_UNIX:
      // Both are normalised by unix_path(): compare the name bytes.
      return a.size_ == b.size_ &&
             std::memcmp(reinterpret_cast<const sockaddr_un*>(&a.storage_)->sun_path,
                         reinterpret_cast<const sockaddr_un*>(&b.storage_)->sun_path,
                         a.size_ - sun_path_offset) == 0;
    default:
      return true;  // both empty
  }
}

}  // namespace balrog::net
