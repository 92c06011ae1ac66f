// tls_context: building SSL_CTXs for clients and servers, and the client session cache.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <utility>

#include "balrog/errors.hpp"
#include "balrog/net/tls_stream.hpp"
#include "net/tls_context_impl.hpp"
#include "net/tls_ops.hpp"

namespace balrog::net {

namespace {

constexpr const char* who = "balrog::net::tls_context";

[[noreturn]] void fail(const std::string& doing) {
  throw tls_error(std::string(who) + ": " + doing + ": " +
                  detail::drain_openssl_errors("OpenSSL error"));
}

void check(int ok, const std::string& doing) {
  if (ok != 1) fail(doing);
}

int min_version_of(tls_version v) noexcept {
  return v == tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// ALPN's wire format: each protocol name prefixed by its length (1..255 bytes).
std::string alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) {
      throw usage_error(std::string(who) + ": an ALPN protocol name must have 1 to 255 bytes");
    }
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  return wire;
}

const unsigned char* bytes(const std::string& s) noexcept {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void load_trust(SSL_CTX* ctx, const std::string& ca_file, const std::string& ca_path) {
  if (ca_file.empty() && ca_path.empty()) {
    check(SSL_CTX_set_default_verify_paths(ctx), "loading the system CA store");
    return;
  }
  check(SSL_CTX_load_verify_locations(ctx, ca_file.empty() ? nullptr : ca_file.c_str(),
                                      ca_path.empty() ? nullptr : ca_path.c_str()),
        "loading CAs from " + (ca_file.empty() ? ca_path : ca_file));
}

void use_key_files(SSL_CTX* ctx, const std::string& chain, const std::string& key) {
  check(SSL_CTX_use_certificate_chain_file(ctx, chain.c_str()), "loading certificate " + chain);
  check(SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM),
        "loading private key " + key);
  check(SSL_CTX_check_private_key(ctx), "the private key does not match the certificate");
}

struct bio_deleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

bio_ptr memory_bio(const std::string& text) {
  bio_ptr b(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!b) fail("BIO_new_mem_buf");
  return b;
}

void use_key_pem(SSL_CTX* ctx, const std::string& chain, const std::string& key) {
  bio_ptr certs = memory_bio(chain);
  X509* leaf = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr);
  if (leaf == nullptr) fail("reading certificate_chain_pem");
  const int used = SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  check(used, "using certificate_chain_pem");
  while (X509* extra = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {  // takes `extra` only on success
      X509_free(extra);
      fail("adding a chain certificate");
    }
  }
  ERR_clear_error();  // the loop ends on "no start line": the end of the text
  bio_ptr key_text = memory_bio(key);
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(key_text.get(), nullptr, nullptr, nullptr);
  if (pkey == nullptr) fail("reading private_key_pem");
  const int key_used = SSL_CTX_use_PrivateKey(ctx, pkey);
  EVP_PKEY_free(pkey);
  check(key_used, "using private_key_pem");
  check(SSL_CTX_check_private_key(ctx), "the private key does not match the certificate");
}

// Both roles: versions, modes, what a truncated close means.
std::shared_ptr<tls_context::impl> new_context(bool server, tls_version min,
                                               bool allow_truncated_close) {
  auto self = std::make_shared<tls_context::impl>();
  self->server = server;
  self->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (self->ctx == nullptr) fail("SSL_CTX_new");
  SSL_CTX_set_app_data(self->ctx, self.get());
  check(SSL_CTX_set_min_proto_version(self->ctx, min_version_of(min)), "setting min_version");
  // Partial writes for write_some; a retried write may come from a moved buffer (a string that
  // grew); idle connections give their 34 KiB of record buffers back.
  SSL_CTX_set_mode(self->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  if (allow_truncated_close) SSL_CTX_set_options(self->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  return self;
}

// OpenSSL hands the client every new session (TLS 1.3: tickets after the handshake).
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<tls_context::impl*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  const int index = detail::session_key_index();
  const auto* key = index < 0 ? nullptr : static_cast<std::string*>(SSL_get_ex_data(ssl, index));
  if (self == nullptr || key == nullptr) return 0;
  try {
    self->store_session(*key, session);
    return 1;  // ours now
  } catch (...) {
    return 0;  // out of memory: OpenSSL frees it
  }
}

int select_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length,
                const unsigned char* offered, unsigned int offered_length, void* arg) {
  const auto* self = static_cast<const tls_context::impl*>(arg);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, out_length, bytes(self->alpn_wire),
                            static_cast<unsigned int>(self->alpn_wire.size()), offered,
                            offered_length) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // no protocol in common: go on without one
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

void free_session_key(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*index*/,
                      long /*argl*/, void* /*argp*/) {
  delete static_cast<std::string*>(ptr);
}

}  // namespace

namespace detail {
int session_key_index() noexcept {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_session_key);
  return index;
}
}  // namespace detail

tls_context::impl::~impl() {
  for (auto& entry : sessions_) SSL_SESSION_free(entry.second);
  SSL_CTX_free(ctx);
}

SSL_SESSION* tls_context::impl::find_session(const std::string& key) {
  std::lock_guard lk(lock_);
  const auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  SSL_SESSION* s = it->second->second;
  SSL_SESSION_up_ref(s);
  return s;
}

void tls_context::impl::store_session(const std::string& key, SSL_SESSION* session) {
  std::lock_guard lk(lock_);
  if (const auto it = index_.find(key); it != index_.end()) {
    SSL_SESSION_free(it->second->second);
    sessions_.erase(it->second);
    index_.erase(it);
  }
  sessions_.emplace_back(key, session);
  try {
    index_.emplace(key, std::prev(sessions_.end()));
  } catch (...) {
    sessions_.pop_back();
    throw;
  }
  while (sessions_.size() > cache_size) {
    SSL_SESSION_free(sessions_.front().second);
    index_.erase(sessions_.front().first);
    sessions_.pop_front();
  }
}

tls_context tls_context::client(const tls_client_options& options) {
  auto self = new_context(false, options.min_version, options.allow_truncated_close);
  SSL_CTX* ctx = self->ctx;
  self->verify_peer = options.verify_peer;
  SSL_CTX_set_verify(ctx, options.verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (options.verify_peer) load_trust(ctx, options.ca_file, options.ca_path);
  if (!options.certificate_chain_file.empty() || !options.private_key_file.empty()) {
    use_key_files(ctx, options.certificate_chain_file, options.private_key_file);
  }
  if (!options.alpn.empty()) {
    const std::string wire = alpn_wire(options.alpn);
    // The one OpenSSL setter that returns 0 on success.
    if (SSL_CTX_set_alpn_protos(ctx, bytes(wire), static_cast<unsigned int>(wire.size())) != 0) {
      fail("setting ALPN protocols");
    }
  }
  self->resumption = options.session_resumption && options.session_cache_size > 0 &&
                     detail::session_key_index() >= 0;
  self->cache_size = options.session_cache_size;
  if (self->resumption) {
    // Sessions go to on_new_session only; OpenSSL's internal store is a server's.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  return tls_context(std::move(self));
}

tls_context tls_context::server(const tls_server_options& options) {
  const bool files = !options.certificate_chain_file.empty() || !options.private_key_file.empty();
  const bool pem = !options.certificate_chain_pem.empty() || !options.private_key_pem.empty();
  if (!files && !pem) {
    throw usage_error(std::string(who) +
                      "::server: a certificate chain and a private key are required");
  }
  auto self = new_context(true, options.min_version, options.allow_truncated_close);
  SSL_CTX* ctx = self->ctx;
  if (files) {
    use_key_files(ctx, options.certificate_chain_file, options.private_key_file);
  } else {
    use_key_pem(ctx, options.certificate_chain_pem, options.private_key_pem);
  }
  if (options.verify_client) {
    load_trust(ctx, options.ca_file, options.ca_path);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  if (!options.alpn.empty()) {
    self->alpn_wire = alpn_wire(options.alpn);
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, self.get());
  }
  // Sessions resumed with a verified client certificate must come from this context.
  static const unsigned char id_context[] = "balrog";
  check(SSL_CTX_set_session_id_context(ctx, id_context, sizeof id_context - 1),
        "setting the session id context");
  if (!options.session_resumption) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
  }
  return tls_context(std::move(self));
}

bool tls_context::is_server() const noexcept { return impl_ != nullptr && impl_->server; }

ssl_ctx_st* tls_context::native_handle() const noexcept {
  return impl_ == nullptr ? nullptr : impl_->ctx;
}

}  // namespace balrog::net
