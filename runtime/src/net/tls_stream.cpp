#include "balrog/net/tls_stream.hpp"

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <string>
#include <utility>

#include "balrog/errors.hpp"
#include "net/drive.hpp"
#include "net/tls_bio.hpp"
#include "net/tls_context_impl.hpp"
#include "net/tls_ops.hpp"

namespace balrog::net {

namespace {

constexpr const char* who = "balrog::net::tls_stream";

bool is_ip_address(const std::string& host) noexcept {
  unsigned char buffer[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

std::span<const std::byte> bytes_of(std::string_view text) noexcept {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

// A new SSL object of `ctx` reading and writing through balrog's socket BIO.
SSL* new_ssl(const tls_context::impl& ctx) {
  SSL* ssl = SSL_new(ctx.ctx);
  if (ssl == nullptr) {
    throw tls_error(std::string(who) +
                    ": SSL_new: " + detail::drain_openssl_errors("out of memory"));
  }
  BIO* bio = detail::new_socket_bio();
  if (bio == nullptr) {
    SSL_free(ssl);
    throw tls_error(std::string(who) + ": BIO_new: out of memory");
  }
  SSL_set_bio(ssl, bio, bio);  // one reference, read and write
  return ssl;
}

}  // namespace

void tls_stream::ssl_deleter::operator()(ssl_st* ssl) const noexcept { SSL_free(ssl); }

tls_stream::tls_stream() noexcept = default;
tls_stream::tls_stream(tls_stream&&) noexcept = default;
tls_stream& tls_stream::operator=(tls_stream&&) noexcept = default;
tls_stream::~tls_stream() = default;

tls_stream::tls_stream(stream s, const tls_context& ctx, std::string server_name)
    : next_(std::move(s)), ctx_(ctx.impl_), server_name_(std::move(server_name)) {
  if (!ctx_ || ctx_->server) {
    throw usage_error(std::string(who) + ": a client stream needs a client tls_context");
  }
  if (server_name_.empty() && ctx_->verify_peer) {
    throw usage_error(std::string(who) +
                      ": a client stream needs the server's name to verify its certificate");
  }
  ssl_.reset(new_ssl(*ctx_));
  SSL* ssl = ssl_.get();
  SSL_set_connect_state(ssl);
  if (!server_name_.empty()) {
    const bool ip = is_ip_address(server_name_);
    bool ok = true;
    if (ip) {
      // Checked against the certificate's IP SANs; never sent as SNI (RFC 6066 §3).
      ok = ctx_->verify_peer
               ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name_.c_str()) == 1
               : true;
    } else {
      // SSL_set_tlsext_host_name, without the macro's C cast.
      ok = SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                    server_name_.data()) == 1 &&
           (!ctx_->verify_peer || SSL_set1_host(ssl, server_name_.c_str()) == 1);
    }
    if (!ok) {
      throw tls_error(std::string(who) + ": server name \"" + server_name_ +
                      "\": " + detail::drain_openssl_errors("rejected by OpenSSL"));
    }
  }
  if (ctx_->resumption && next_.is_open()) {
    // Sessions belong to a name at an address: never offer one server's session to another.
    auto key =
        std::make_unique<std::string>(server_name_ + "@" + next_.remote_endpoint().to_string());
    if (SSL_SESSION* session = ctx_->find_session(*key)) {
      SSL_set_session(ssl, session);  // takes its own reference
      SSL_SESSION_free(session);
    }
    if (SSL_set_ex_data(ssl, detail::session_key_index(), key.get()) == 1) key.release();
  }
}

tls_stream::tls_stream(stream s, const tls_context& ctx) : next_(std::move(s)), ctx_(ctx.impl_) {
  if (!ctx_ || !ctx_->server) {
    throw usage_error(std::string(who) + ": a server stream needs a server tls_context");
  }
  ssl_.reset(new_ssl(*ctx_));
  SSL_set_accept_state(ssl_.get());
}

ssl_st* tls_stream::ssl_for(const char* call) const {
  if (!ssl_) throw usage_error(std::string(call) + ": a default-made tls_stream");
  return ssl_.get();
}

void tls_stream::handshake(deadline until) {
  detail::tls_handshake_op op{.ssl = ssl_for(detail::tls_handshake_op::call)};
  detail::drive_blocking(next_.socket_, op, until);
}

std::size_t tls_stream::read_some(std::span<std::byte> into, deadline until) {
  detail::tls_read_some_op op{.ssl = ssl_for(detail::tls_read_some_op::call), .buffer = into};
  return detail::drive_blocking(next_.socket_, op, until);
}

void tls_stream::read_exact(std::span<std::byte> into, deadline until) {
  detail::tls_read_exact_op op{.ssl = ssl_for(detail::tls_read_exact_op::call), .buffer = into};
  detail::drive_blocking(next_.socket_, op, until);
}

std::string tls_stream::read_exact(std::size_t n, deadline until) {
  std::string s(n, '\0');
  read_exact(std::as_writable_bytes(std::span<char>(s)), until);
  return s;
}

std::size_t tls_stream::write_some(std::span<const std::byte> from, deadline until) {
  detail::tls_write_op op{
      .ssl = ssl_for(detail::tls_write_op::call_some), .buffer = from, .all = false};
  return detail::drive_blocking(next_.socket_, op, until);
}

std::size_t tls_stream::write_some(std::string_view from, deadline until) {
  return write_some(bytes_of(from), until);
}

void tls_stream::write_all(std::span<const std::byte> from, deadline until) {
  detail::tls_write_op op{.ssl = ssl_for(detail::tls_write_op::call_all), .buffer = from};
  detail::drive_blocking(next_.socket_, op, until);
}

void tls_stream::write_all(std::string_view from, deadline until) {
  write_all(bytes_of(from), until);
}

void tls_stream::shutdown(deadline until) {
  detail::tls_shutdown_op op{.ssl = ssl_for(detail::tls_shutdown_op::call)};
  detail::drive_blocking(next_.socket_, op, until);
}

// The coroutine forms: the same operations, driven by drive_async.

task<void> tls_stream::async_handshake(deadline until) {
  return detail::drive_async(
      next_.socket_, detail::tls_handshake_op{.ssl = ssl_for(detail::tls_handshake_op::call)},
      until);
}

task<std::size_t> tls_stream::async_read_some(std::span<std::byte> into, deadline until) {
  return detail::drive_async(
      next_.socket_,
      detail::tls_read_some_op{.ssl = ssl_for(detail::tls_read_some_op::call), .buffer = into},
      until);
}

task<void> tls_stream::async_read_exact(std::span<std::byte> into, deadline until) {
  return detail::drive_async(
      next_.socket_,
      detail::tls_read_exact_op{.ssl = ssl_for(detail::tls_read_exact_op::call), .buffer = into},
      until);
}

task<std::size_t> tls_stream::async_write_some(std::span<const std::byte> from, deadline until) {
  return detail::drive_async(
      next_.socket_,
      detail::tls_write_op{
          .ssl = ssl_for(detail::tls_write_op::call_some), .buffer = from, .all = false},
      until);
}

task<void> tls_stream::async_write_all(std::span<const std::byte> from, deadline until) {
  // drive_async yields what take() returns (the count): drop it.
  co_await detail::drive_async(
      next_.socket_,
      detail::tls_write_op{.ssl = ssl_for(detail::tls_write_op::call_all), .buffer = from}, until);
}

task<void> tls_stream::async_write_all(std::string_view from, deadline until) {
  return async_write_all(bytes_of(from), until);
}

task<void> tls_stream::async_shutdown(deadline until) {
  return detail::drive_async(
      next_.socket_, detail::tls_shutdown_op{.ssl = ssl_for(detail::tls_shutdown_op::call)}, until);
}

void tls_stream::close() noexcept { next_.close(); }

std::string tls_stream::alpn_protocol() const {
  if (!ssl_) return {};
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &length);
  return {reinterpret_cast<const char*>(data), length};
}

bool tls_stream::session_reused() const noexcept {
  return ssl_ && SSL_session_reused(ssl_.get()) == 1;
}

std::string tls_stream::protocol_version() const {
  if (!ssl_ || SSL_is_init_finished(ssl_.get()) == 0) return {};
  return SSL_get_version(ssl_.get());
}

std::string tls_stream::server_name() const {
  if (!ssl_) return {};
  if (!ctx_->server) return server_name_;
  const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
  return name != nullptr ? name : "";
}

ssl_st* tls_stream::native_handle() const noexcept { return ssl_.get(); }

tls_stream tls_connect(std::string host, std::uint16_t port, const tls_context& ctx,
                       deadline until) {
  stream s = connect(host, port, until);
  tls_stream t(std::move(s), ctx, std::move(host));
  t.handshake(until);
  return t;
}

namespace detail {
namespace {

task<tls_stream> tls_connect_task(std::string host, std::uint16_t port, tls_context ctx,
                                  deadline until) {
  // GCC 12 relocates class temporaries inside a co_await full-expression: make the task first.
  task<stream> connecting = async_connect(host, port, until);
  stream s = co_await std::move(connecting);
  tls_stream t(std::move(s), ctx, std::move(host));
  co_await t.async_handshake(until);
  co_return t;
}

}  // namespace
}  // namespace detail

task<tls_stream> async_tls_connect(std::string host, std::uint16_t port, const tls_context& ctx,
                                   deadline until) {
  return detail::tls_connect_task(std::move(host), port, ctx, until);
}

}  // namespace balrog::net
