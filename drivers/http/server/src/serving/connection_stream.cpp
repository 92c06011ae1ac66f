#include "serving/connection_stream.hpp"

#include <utility>

namespace balrog::http::server::detail {

connection_stream::connection_stream(net::stream s, const std::optional<net::tls_context>& tls)
    : tls_on_(tls.has_value()) {
  if (tls_on_) {
    tls_ = net::tls_stream(std::move(s), *tls);
  } else {
    plain_ = std::move(s);
  }
}

transport& connection_stream::io() noexcept {
  if (tls_on_) return tls_io_;
  return plain_io_;
}

void connection_stream::handshake(deadline until) {
  if (tls_on_) tls_.handshake(until);
}

int connection_stream::fd() const noexcept {
  return tls_on_ ? tls_.next_layer().native_handle() : plain_.native_handle();
}

void connection_stream::close() noexcept {
  plain_.close();
  tls_.close();
}

}  // namespace balrog::http::server::detail
