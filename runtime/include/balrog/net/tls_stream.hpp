// balrog/net/tls_stream.hpp — TLS over a balrog stream (OpenSSL): client and server,
// blocking-style on fibers and plain threads, co_await in coroutines.
//
//   auto ctx = balrog::net::tls_context::client();               // system CAs, verification on
//   auto s = balrog::net::tls_connect("example.org", 443, ctx, 5s);
//   s.write_all("GET / HTTP/1.1\r\nHost: example.org\r\n\r\n");
//   std::size_t n = s.read_some(buf);
//
//   // a server: one context (certificate + key) for every connection
//   auto sctx = balrog::net::tls_context::server({.certificate_chain_file = "cert.pem",
//                                                  .private_key_file = "key.pem"});
//   balrog::net::tls_stream t(listener.accept(), sctx);
//   t.handshake(5s);
//
//   // coroutine code
//   auto s = co_await balrog::net::async_tls_connect("example.org", 443, ctx, 5s);
//   co_await s.async_write_all(request);
//
// A tls_stream wraps a connected net::stream and speaks TLS on it. Its calls mirror
// net::stream's (read_some, read_exact, write_some, write_all and their async_ twins) and follow
// everything stream.hpp says about deadlines (a call first tries at once, then waits; the own
// deadline throws timeout_error naming the call, an enclosing deadline_scope the plain one),
// cancellation, closing from another fiber, sharing (one reader and one writer at a time) and
// where each form may run: on a fiber the fiber suspends while OpenSSL wants the socket readable
// or writable (WANT_READ / WANT_WRITE), on a plain thread the thread blocks in poll(2), and in
// coroutine code the async_ forms suspend the coroutine. OpenSSL may want to read during a
// write and to write during a read (handshake messages, key updates): the calls wait for
// whatever it asks.
//
// Contexts. A tls_context holds the configuration shared by many streams (OpenSSL's SSL_CTX):
// certificates, verification, ALPN, and the client's session cache. It is a cheap, copyable
// handle; copies share one SSL_CTX; it is thread-safe. Build one per configuration and reuse
// it: loading the system CA store costs milliseconds.
//
// Clients verify the server by default: its chain against the system CA store (OpenSSL's
// default paths: /etc/ssl/certs on Debian) or the given CA file/directory, and its name (the
// host given to tls_connect, or the server_name given to the constructor; an IP address is
// checked against the certificate's IP entries) — a failure throws tls_error during the
// handshake, with OpenSSL's reason ("certificate verify failed: self-signed certificate in
// certificate chain", "... Hostname mismatch"). The name also goes out as SNI (not an IP
// address: RFC 6066 forbids it). Turning verification off (tls_client_options::verify_peer)
// makes the connection open to interception: for tests only.
//
// Session resumption. A client context remembers the last session each host:port gave it
// (TLS 1.3 tickets arrive after the handshake, with the first data read) and offers it on the
// next handshake to the same host:port and server name; session_reused() tells whether the
// server accepted it. A server context issues tickets and keeps a session cache. Both are on by
// default (tls_*_options::session_resumption).
//
// End of stream: read_some returns 0 once the peer sent close_notify (shutdown()). A peer that
// closes TCP without it may be truncating the data (an attacker can forge the FIN): that read
// throws tls_error ("unexpected eof while reading"), unless tls_*_options::
// allow_truncated_close says the protocol frames its own data (HTTP with Content-Length or
// chunked encoding, for example) and the read returns 0.
//
// Errors: tls_error (an io_error with code EPROTO) for what OpenSSL reports — a failed
// handshake, verification, a protocol error, a bad certificate or key file; io_error for the
// socket (ECONNRESET, EPIPE...); timeout_error; cancelled; usage_error for misuse (a server
// context given a server name, a client context none). After any exception from a read or
// write (a timeout included), the TLS state is undefined: close the stream.
//
// The seam for other TLS users: the protocol steps (handshake, read, write, shutdown) are
// sans-IO operations over any SSL* (runtime/src/net/tls_ops.hpp); this class drives them with
// net's two drivers over its own socket through a BIO that sends with MSG_NOSIGNAL (a closed
// peer is EPIPE, never SIGPIPE).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/errors.hpp"
#include "balrog/net/stream.hpp"
#include "balrog/task.hpp"

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace balrog::net {

// OpenSSL refused something: a handshake (verification, no common protocol or cipher, a
// non-TLS peer), a record (bad MAC, truncation), or a certificate or key file. code() is
// EPROTO; what() names the call, the fd and OpenSSL's reasons.
class tls_error : public io_error {
 public:
  // `verify_result`: OpenSSL's X509_V_* code when certificate verification failed, else 0.
  tls_error(const std::string& what_arg, long verify_result = 0)
      : io_error(verbatim_t{}, std::make_error_code(std::errc::protocol_error), what_arg),
        verify_result_(verify_result) {}
  // X509_V_OK (0) unless the peer's certificate failed verification: then the X509_V_ERR_*
  // code (X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN...).
  [[nodiscard]] long verify_result() const noexcept { return verify_result_; }

 private:
  long verify_result_;
};

enum class tls_version { tls1_2, tls1_3 };

struct tls_client_options {
  // Verify the server's certificate chain and name. false accepts any certificate: anyone on
  // the path can impersonate the server. For tests against self-signed servers only.
  bool verify_peer = true;
  // Trust anchors (PEM). Both empty: the system store (OpenSSL's default paths). Otherwise
  // only these: a bundle file and/or a hashed directory (c_rehash).
  std::string ca_file{};
  std::string ca_path{};
  // A client certificate (PEM chain) and its key, for servers that ask for one. Empty: none.
  std::string certificate_chain_file{};
  std::string private_key_file{};
  // Application protocols offered by ALPN, in order of preference ("h2", "http/1.1").
  // Empty: no ALPN extension.
  std::vector<std::string> alpn{};
  // The oldest protocol version accepted. TLS 1.0 and 1.1 are never offered.
  tls_version min_version = tls_version::tls1_2;
  // Keep the last session per host:port (at most session_cache_size of them, the oldest
  // dropped) and offer it on the next handshake. Costs a few KiB per entry.
  bool session_resumption = true;
  std::size_t session_cache_size = 256;
  // A TCP close without close_notify reads as end of stream instead of tls_error (see the
  // top of this file). Only for protocols that frame their own data.
  bool allow_truncated_close = false;
};

struct tls_server_options {
  // The server's certificate chain (PEM: leaf first) and private key, as files or as PEM text
  // (the *_pem fields, used when the file fields are empty). Required.
  std::string certificate_chain_file{};
  std::string private_key_file{};
  std::string certificate_chain_pem{};
  std::string private_key_pem{};
  // Application protocols the server speaks, in its order of preference: the first one the
  // client also offers is chosen. Empty: ALPN is ignored. A client that offers ALPN but none
  // of these gets no protocol (alpn_protocol() is empty), not a failed handshake.
  std::vector<std::string> alpn{};
  // Ask clients for a certificate and verify it against ca_file / ca_path (the system store
  // when both are empty); a client without one fails the handshake.
  bool verify_client = false;
  std::string ca_file{};
  std::string ca_path{};
  tls_version min_version = tls_version::tls1_2;
  // Issue session tickets and keep a session cache, so returning clients skip the full
  // handshake. The ticket keys live in this context (a restart invalidates the tickets).
  bool session_resumption = true;
  // As tls_client_options::allow_truncated_close.
  bool allow_truncated_close = false;
};

class tls_context {
 public:
  // Throws tls_error for files OpenSSL cannot load (naming the file and OpenSSL's reason),
  // usage_error for a server context without a certificate or key.
  static tls_context client(const tls_client_options& options = {});
  static tls_context server(const tls_server_options& options);

  // An empty context: every stream made from it throws usage_error.
  tls_context() noexcept = default;

  [[nodiscard]] bool is_server() const noexcept;
  [[nodiscard]] bool valid() const noexcept { return impl_ != nullptr; }
  // The SSL_CTX, for settings this class does not offer. Changing it affects every stream made
  // from this context afterwards.
  [[nodiscard]] ssl_ctx_st* native_handle() const noexcept;

  struct impl;  // runtime/src/net/tls_context.cpp

 private:
  explicit tls_context(std::shared_ptr<impl> p) noexcept : impl_(std::move(p)) {}
  std::shared_ptr<impl> impl_;
  friend class tls_stream;
};

class tls_stream {
 public:
  // A closed stream (a placeholder to move into).
  tls_stream() noexcept;

  // A client on the connected stream `s`. `server_name` is the name to verify and send as SNI
  // (the host the caller connected to; an IP address is verified but not sent). Nothing is
  // sent until handshake(). Throws usage_error for a server context or an empty server_name
  // while verify_peer is on; tls_error when OpenSSL cannot make the connection object.
  tls_stream(stream s, const tls_context& ctx, std::string server_name);
  // A server on the connected stream `s` (an accepted connection). Throws usage_error for a
  // client context.
  tls_stream(stream s, const tls_context& ctx);

  tls_stream(tls_stream&&) noexcept;
  tls_stream& operator=(tls_stream&&) noexcept;  // closes what it held first
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;
  ~tls_stream();  // closes the socket (without close_notify: call shutdown() for that)

  // Runs the TLS handshake; the read and write calls run it first if nobody did. Throws
  // tls_error (verification, no common version or protocol...), io_error (the peer hung up:
  // ECONNRESET, or end_of_stream when it closed during the handshake), timeout_error,
  // cancelled. Repeating it after success does nothing.
  void handshake(deadline until = deadline::never());

  // As net::stream's (see stream.hpp): read_some returns 0 at the end of the stream (the
  // peer's close_notify; see "End of stream" above); read_exact throws end_of_stream.
  std::size_t read_some(std::span<std::byte> into, deadline until = deadline::never());
  void read_exact(std::span<std::byte> into, deadline until = deadline::never());
  std::string read_exact(std::size_t n, deadline until = deadline::never());
  std::size_t write_some(std::span<const std::byte> from, deadline until = deadline::never());
  std::size_t write_some(std::string_view from, deadline until = deadline::never());
  void write_all(std::span<const std::byte> from, deadline until = deadline::never());
  void write_all(std::string_view from, deadline until = deadline::never());

  // Sends close_notify (the TLS end of stream); the peer's read_some then returns 0. Does not
  // wait for the peer's own close_notify, and reads keep working. Throws as write_all.
  void shutdown(deadline until = deadline::never());

  // --- coroutine forms: co_await them; same behaviour as the calls above -----------------
  // The stream and the bytes of `into` / `from` must stay alive, and the stream where it is,
  // until the co_await completes.
  [[nodiscard]] task<void> async_handshake(deadline until = deadline::never());
  [[nodiscard]] task<std::size_t> async_read_some(std::span<std::byte> into,
                                                  deadline until = deadline::never());
  [[nodiscard]] task<void> async_read_exact(std::span<std::byte> into,
                                            deadline until = deadline::never());
  [[nodiscard]] task<std::size_t> async_write_some(std::span<const std::byte> from,
                                                   deadline until = deadline::never());
  [[nodiscard]] task<void> async_write_all(std::span<const std::byte> from,
                                           deadline until = deadline::never());
  [[nodiscard]] task<void> async_write_all(std::string_view from,
                                           deadline until = deadline::never());
  [[nodiscard]] task<void> async_shutdown(deadline until = deadline::never());

  // Closes the socket and wakes the calls waiting on it (they throw io_error EBADF), like
  // stream::close(). No close_notify is sent. Idempotent; never throws.
  void close() noexcept;

  // After the handshake: the protocol ALPN chose ("h2"), empty when none.
  [[nodiscard]] std::string alpn_protocol() const;
  // After the handshake: whether an earlier session was resumed (no full handshake).
  [[nodiscard]] bool session_reused() const noexcept;
  // The negotiated version ("TLSv1.3"), empty before the handshake.
  [[nodiscard]] std::string protocol_version() const;
  // Server side, after the handshake: the SNI name the client sent, empty if none. Client
  // side: the server_name given to the constructor.
  [[nodiscard]] std::string server_name() const;

  [[nodiscard]] bool is_open() const noexcept { return next_.is_open(); }
  // The TCP (or Unix) stream underneath: for endpoints and set_nodelay. Reading or writing it
  // directly corrupts the TLS session.
  [[nodiscard]] stream& next_layer() noexcept { return next_; }
  [[nodiscard]] const stream& next_layer() const noexcept { return next_; }
  // OpenSSL's SSL object (nullptr when default-made), for queries this class does not offer.
  [[nodiscard]] ssl_st* native_handle() const noexcept;

 private:
  struct ssl_deleter {
    void operator()(ssl_st* ssl) const noexcept;
  };
  // The SSL object, or throws usage_error naming `call` for a default-made stream.
  [[nodiscard]] ssl_st* ssl_for(const char* call) const;

  stream next_;
  std::unique_ptr<ssl_st, ssl_deleter> ssl_;
  std::shared_ptr<tls_context::impl> ctx_;  // keeps the SSL_CTX's callbacks' state alive
  std::string server_name_;                 // client: the name given to the constructor
};

// Connects to host:port (net::connect: resolution, every address in turn), then runs the
// client handshake with `ctx`, verifying `host`. `until` bounds the whole call. Throws what
// net::connect and tls_stream::handshake throw.
tls_stream tls_connect(std::string host, std::uint16_t port, const tls_context& ctx,
                       deadline until = deadline::never());
// The coroutine form. `host` is copied into the task; `ctx` is a handle, copied too.
[[nodiscard]] task<tls_stream> async_tls_connect(std::string host, std::uint16_t port,
                                                 const tls_context& ctx,
                                                 deadline until = deadline::never());

}  // namespace balrog::net
