// TLS as sans-IO operations: OpenSSL's handshake, read, write and shutdown over any SSL*, in the
// operation protocol of operations.hpp, so that net's two drivers (drive.hpp: fibers and plain
// threads, coroutines) run them exactly as they run the socket operations. tls_stream drives
// them over its own socket and BIO (tls_bio.hpp); a compat layer can drive them over an
// application's SSL* and the fd of its BIO.
//
// A step makes one OpenSSL call (after clearing the thread's error queue, which OpenSSL shares
// between all SSL objects of the thread) and maps SSL_get_error: WANT_READ / WANT_WRITE to
// want_read / want_write, success to done. A failure also returns done, with `failure` filled
// in: take() then throws the exception it means (tls_error, io_error, end_of_stream), because
// the drivers' own failure path only knows errno values. Nothing here waits or allocates.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "net/socket_ops.hpp"

namespace balrog::net::detail {

// Why a TLS step failed.
struct tls_failure {
  enum class kind : std::uint8_t {
    none,
    os,              // the socket failed: `error` is errno
    eof,             // the peer closed TCP without close_notify (or during the handshake)
    closed_by_peer,  // a write after the peer's close_notify
    tls,             // OpenSSL refused: `codes` are its error queue, `verify_result` X509_V_*
  };
  kind what = kind::none;
  int error = 0;
  long verify_result = 0;
  std::array<unsigned long, 4> codes{};  // the first entries of OpenSSL's error queue
  std::size_t code_count = 0;

  [[nodiscard]] bool failed() const noexcept { return what != kind::none; }
};

// Maps the result `ret` of a failed SSL call on `ssl` (ret <= 0; `ret` for SSL_get_error) to a
// progress: want_read / want_write to wait, done with `f` filled in to fail. SSL_ERROR_ZERO_RETURN
// (the peer's close_notify) is reported as done with no failure: each operation decides what
// the end of stream means for it.
progress tls_settle(SSL* ssl, int ret, tls_failure& f) noexcept;

// Throws what `f` means for the call described by `what` ("balrog::net::tls_stream::
// handshake(fd 7)"), if it failed; `handshaking` makes an early end of stream an end_of_stream
// rather than a tls_error.
void throw_tls_failure(const tls_failure& f, const std::string& what, bool handshaking);

// Empties this thread's OpenSSL error queue into text ("no such file; PEM lib"), for errors of
// calls outside the steps (loading certificates). `fallback` when the queue is empty.
std::string drain_openssl_errors(const char* fallback);

// Makes the next OpenSSL call on `ssl` use `fd` (when its BIO is balrog's; a foreign BIO keeps
// its own fd) and clears this thread's OpenSSL error queue.
void tls_prepare(SSL* ssl, int fd) noexcept;

struct tls_handshake_op {
  static constexpr const char* call = "balrog::net::tls_stream::handshake";
  static constexpr const char* owner = "stream";
  SSL* ssl = nullptr;
  tls_failure failure{};
  int last_fd = -1;
  int error = 0;  // unused: failures go through take()

  progress step(int fd) noexcept;
  void take() const;
};

struct tls_read_some_op {
  static constexpr const char* call = "balrog::net::tls_stream::read_some";
  static constexpr const char* owner = "stream";
  SSL* ssl = nullptr;
  std::span<std::byte> buffer;
  std::size_t got = 0;
  tls_failure failure{};
  bool handshaking = false;  // the last step began before the handshake was done
  int last_fd = -1;
  int error = 0;

  progress step(int fd) noexcept;
  std::size_t take() const;
};

struct tls_read_exact_op {
  static constexpr const char* call = "balrog::net::tls_stream::read_exact";
  static constexpr const char* owner = "stream";
  SSL* ssl = nullptr;
  std::span<std::byte> buffer;
  std::size_t filled = 0;
  bool ended = false;
  bool handshaking = false;
  tls_failure failure{};
  int last_fd = -1;
  int error = 0;

  progress step(int fd) noexcept;
  void take() const;  // end_of_stream when the stream ended before the buffer was full
};

// write_some (`all` false: done after the first record that went out) and write_all.
struct tls_write_op {
  static constexpr const char* call_some = "balrog::net::tls_stream::write_some";
  static constexpr const char* call_all = "balrog::net::tls_stream::write_all";
  static constexpr const char* call = call_all;  // for the drivers' timeout messages
  static constexpr const char* owner = "stream";
  SSL* ssl = nullptr;
  std::span<const std::byte> buffer;
  bool all = true;
  std::size_t sent = 0;
  bool handshaking = false;
  tls_failure failure{};
  int last_fd = -1;
  int error = 0;

  progress step(int fd) noexcept;
  std::size_t take() const;
  std::string describe(int fd) const;
};

// Sends close_notify (does not wait for the peer's).
struct tls_shutdown_op {
  static constexpr const char* call = "balrog::net::tls_stream::shutdown";
  static constexpr const char* owner = "stream";
  SSL* ssl = nullptr;
  bool started = false;
  tls_failure failure{};
  int last_fd = -1;
  int error = 0;

  progress step(int fd) noexcept;
  void take() const;
};

}  // namespace balrog::net::detail
