#include "net/tls_ops.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <cerrno>
#include <climits>
#include <string>

#include "balrog/errors.hpp"
#include "balrog/net/tls_stream.hpp"
#include "net/operations.hpp"
#include "net/tls_bio.hpp"

namespace balrog::net::detail {

namespace {

// The errno behind SSL_ERROR_SYSCALL: our BIO records it; a foreign BIO left it in errno.
int syscall_error(SSL* ssl) noexcept {
  const BIO* bio = SSL_get_rbio(ssl);
  if (is_socket_bio(bio)) {
    const int e = bio_last_error(bio);
    return e != 0 ? e : bio_last_error(SSL_get_wbio(ssl));
  }
  return errno;
}

void drain_error_queue(tls_failure& f) noexcept {
  f.code_count = 0;
  while (const unsigned long code = ERR_get_error()) {
    if (f.code_count < f.codes.size()) f.codes[f.code_count++] = code;
  }
}

bool is_unexpected_eof(const tls_failure& f) noexcept {
  for (std::size_t i = 0; i < f.code_count; ++i) {
    if (ERR_GET_LIB(f.codes[i]) == ERR_LIB_SSL &&
        ERR_GET_REASON(f.codes[i]) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      return true;
    }
  }
  return false;
}

// OpenSSL's reasons, most specific last, without its "error:0A000086:SSL routines::" prefix.
std::string reasons_of(const tls_failure& f) {
  std::string text;
  for (std::size_t i = 0; i < f.code_count; ++i) {
    const char* reason = ERR_reason_error_string(f.codes[i]);
    if (!text.empty()) text += "; ";
    text += reason != nullptr ? reason : "OpenSSL error " + std::to_string(f.codes[i]);
  }
  return text.empty() ? std::string("TLS protocol error") : text;
}

int clamp_int(std::size_t n) noexcept { return n > INT_MAX ? INT_MAX : static_cast<int>(n); }

}  // namespace

std::string drain_openssl_errors(const char* fallback) {
  tls_failure f;
  drain_error_queue(f);
  return f.code_count == 0 ? std::string(fallback) : reasons_of(f);
}

void tls_prepare(SSL* ssl, int fd) noexcept {
  set_bio_fd(SSL_get_rbio(ssl), fd);
  if (SSL_get_wbio(ssl) != SSL_get_rbio(ssl)) set_bio_fd(SSL_get_wbio(ssl), fd);
  ERR_clear_error();
}

progress tls_settle(SSL* ssl, int ret, tls_failure& f) noexcept {
  switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
      return progress::want_read;
    case SSL_ERROR_WANT_WRITE:
      return progress::want_write;
    case SSL_ERROR_ZERO_RETURN:
      return progress::done;
    case SSL_ERROR_SYSCALL: {
      const int e = syscall_error(ssl);
      drain_error_queue(f);
      if (e != 0) {
        f.what = tls_failure::kind::os;
        f.error = e;
      } else {
        f.what = tls_failure::kind::eof;
      }
      return progress::done;
    }
    default: {  // SSL_ERROR_SSL and the callback kinds balrog never enables
      drain_error_queue(f);
      f.what = is_unexpected_eof(f) ? tls_failure::kind::eof : tls_failure::kind::tls;
      f.verify_result = SSL_get_verify_result(ssl);
      return progress::done;
    }
  }
}

void throw_tls_failure(const tls_failure& f, const std::string& what, bool handshaking) {
  switch (f.what) {
    case tls_failure::kind::none:
      return;
    case tls_failure::kind::os:
      throw_errno(f.error, what);
    case tls_failure::kind::eof:
      if (handshaking) {
        throw end_of_stream(what + ": the peer closed the connection during the TLS handshake");
      }
      throw tls_error(what +
                      ": unexpected eof while reading (the peer closed the connection without "
                      "close_notify)");
    case tls_failure::kind::closed_by_peer:
      throw io_error(std::make_error_code(std::errc::broken_pipe),
                     what + ": the peer ended the TLS session (close_notify)");
    case tls_failure::kind::tls:
      break;
  }
  std::string text = what + ": " + reasons_of(f);
  const long verify = f.verify_result;
  if (verify != X509_V_OK) {
    text += " (";
    text += X509_verify_cert_error_string(verify);
    text += ")";
  }
  throw tls_error(text, verify);
}

progress tls_handshake_op::step(int fd) noexcept {
  last_fd = fd;
  tls_prepare(ssl, fd);
  const int ret = SSL_do_handshake(ssl);
  if (ret == 1) return progress::done;
  const progress p = tls_settle(ssl, ret, failure);
  // close_notify in place of a handshake message: the peer hung up.
  if (p == progress::done && !failure.failed()) failure.what = tls_failure::kind::eof;
  return p;
}

void tls_handshake_op::take() const {
  throw_tls_failure(failure, describe_call(call, last_fd), true);
}

progress tls_read_some_op::step(int fd) noexcept {
  last_fd = fd;
  got = 0;
  if (buffer.empty()) return progress::done;
  tls_prepare(ssl, fd);
  handshaking = SSL_is_init_finished(ssl) == 0;
  if (SSL_read_ex(ssl, buffer.data(), buffer.size(), &got) == 1) return progress::done;
  return tls_settle(ssl, 0, failure);  // done without a failure: close_notify, got == 0
}

std::size_t tls_read_some_op::take() const {
  throw_tls_failure(failure, describe_call(call, last_fd), handshaking);
  return got;
}

progress tls_read_exact_op::step(int fd) noexcept {
  last_fd = fd;
  tls_prepare(ssl, fd);
  handshaking = SSL_is_init_finished(ssl) == 0;
  while (filled < buffer.size()) {
    std::size_t n = 0;
    if (SSL_read_ex(ssl, buffer.data() + filled, buffer.size() - filled, &n) == 1) {
      filled += n;
      continue;
    }
    const progress p = tls_settle(ssl, 0, failure);
    if (p == progress::done && !failure.failed()) ended = true;
    return p;
  }
  return progress::done;
}

void tls_read_exact_op::take() const {
  const std::string what = describe_call(call, last_fd);
  throw_tls_failure(failure, what, handshaking);
  if (ended) {
    throw end_of_stream(what + ": end of stream after " + std::to_string(filled) + " of " +
                        std::to_string(buffer.size()) + " bytes");
  }
}

progress tls_write_op::step(int fd) noexcept {
  last_fd = fd;
  tls_prepare(ssl, fd);
  handshaking = SSL_is_init_finished(ssl) == 0;
  while (sent < buffer.size()) {
    std::size_t n = 0;
    // One call at most INT_MAX bytes: OpenSSL's records are 16 KiB anyway.
    const std::size_t chunk = static_cast<std::size_t>(clamp_int(buffer.size() - sent));
    if (SSL_write_ex(ssl, buffer.data() + sent, chunk, &n) == 1) {
      sent += n;
      if (!all) break;
      continue;
    }
    const progress p = tls_settle(ssl, 0, failure);
    if (p == progress::done && !failure.failed()) failure.what = tls_failure::kind::closed_by_peer;
    return p;
  }
  return progress::done;
}

std::size_t tls_write_op::take() const {
  throw_tls_failure(failure, describe(last_fd), handshaking);
  return sent;
}

std::string tls_write_op::describe(int fd) const {
  return describe_call(all ? call_all : call_some, fd);
}

progress tls_shutdown_op::step(int fd) noexcept {
  last_fd = fd;
  // Before the handshake there is no session to end; once sent, nothing more to do (a retry
  // after WANT_WRITE still calls SSL_shutdown: the alert is queued but not yet out).
  if (!started &&
      (!SSL_is_init_finished(ssl) || (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) != 0)) {
    return progress::done;
  }
  started = true;
  tls_prepare(ssl, fd);
  const int ret = SSL_shutdown(ssl);
  if (ret >= 0) return progress::done;  // 0: sent, the peer's not read yet; 1: both
  return tls_settle(ssl, ret, failure);
}

void tls_shutdown_op::take() const {
  throw_tls_failure(failure, describe_call(call, last_fd), false);
}

}  // namespace balrog::net::detail
