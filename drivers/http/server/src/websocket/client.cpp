#include "balrog/http/websocket/client.hpp"

#include <charconv>

#include "balrog/errors.hpp"
#include "balrog/net/stream.hpp"
#include "balrog/net/tls_stream.hpp"
#include "websocket/core.hpp"

namespace balrog::http::websocket {

namespace {

struct ws_url {
  bool secure = false;  // wss://
  std::string host;     // without brackets
  std::uint16_t port = 80;
  std::string host_header;  // as the Host field wants it
  std::string target;       // path and query, "/" at least
};

[[noreturn]] void bad_url(std::string_view url, const char* why) {
  throw usage_error("balrog::http::websocket::connect: \"" + std::string(url) + "\": " + why);
}

ws_url parse(std::string_view url) {
  const bool secure = url.starts_with("wss://");
  if (!secure && !url.starts_with("ws://")) bad_url(url, "not a ws:// or wss:// URL");
  std::string_view rest = url.substr(secure ? 6 : 5);
  const std::size_t path_at = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, path_at);
  std::string_view target = path_at == std::string_view::npos ? "/" : rest.substr(path_at);
  ws_url out;
  out.secure = secure;
  out.port = secure ? 443 : 80;
  if (target.front() != '/') out.target.push_back('/');  // "ws://h?x" asks for "/?x"
  out.target.append(target);
  if (const std::size_t hash = out.target.find('#'); hash != std::string::npos) {
    out.target.resize(hash);
  }
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    bad_url(url, "no host (or user info, which WebSocket URLs cannot have)");
  }
  std::string_view host = authority;
  std::string_view port;
  if (host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos) bad_url(url, "unbalanced [ in the host");
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty() && port.front() != ':') bad_url(url, "junk after ]");
    if (!port.empty()) port.remove_prefix(1);
  } else if (const std::size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) bad_url(url, "no host");
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      bad_url(url, "bad port");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  out.host = std::string(host);
  out.host_header = std::string(authority);
  return out;
}

// wss:// without a context of the caller's: the system CA store, loaded once.
const net::tls_context& default_tls_context() {
  static const net::tls_context context = net::tls_context::client();
  return context;
}

}  // namespace

connection connect(std::string_view url, const options& opts,
                   const boost::beast::http::fields& headers) {
  if (opts.max_message_bytes == 0) {
    throw usage_error("balrog::http::websocket::connect: options::max_message_bytes is 0");
  }
  const ws_url u = parse(url);
  const deadline until = clock::now() + opts.handshake_timeout;
  net::stream s = net::connect(u.host, u.port, until);
  s.set_nodelay(true);
  std::shared_ptr<detail::core> core;
  if (u.secure) {
    net::tls_stream t(std::move(s), opts.tls.valid() ? opts.tls : default_tls_context(), u.host);
    t.handshake(until);
    core = detail::core::make_client(std::move(t), opts);
  } else {
    core = detail::core::make_client(std::move(s), opts);
  }
  core->handshake(u.host_header, u.target, headers, until);
  return connection(std::move(core));
}

}  // namespace balrog::http::websocket
