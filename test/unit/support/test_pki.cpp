#include "support/test_pki.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace balrog::test {

namespace {

struct key_deleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct cert_deleter {
  void operator()(X509* c) const noexcept { X509_free(c); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_deleter>;
using cert_ptr = std::unique_ptr<X509, cert_deleter>;

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test_pki: ") + what + " failed");
}

key_ptr make_key() {
  key_ptr k(EVP_EC_gen("P-256"));
  require(k != nullptr, "EVP_EC_gen");
  return k;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  require(ext != nullptr, value);
  require(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

// A certificate for `key`, named `cn`, signed by issuer_key (self-signed when issuer is null).
cert_ptr make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                   const char* san, long serial) {
  cert_ptr cert(X509_new());
  require(cert != nullptr, "X509_new");
  X509* c = cert.get();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 7 * 24 * 3600L);
  X509_set_pubkey(c, key);
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("balrog tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(c, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer != nullptr ? issuer : c;
  add_extension(c, signer, NID_subject_key_identifier, "hash");
  if (ca) {
    add_extension(c, signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(c, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(c, signer, NID_authority_key_identifier, "keyid:always");
    add_extension(c, signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(c, signer, NID_key_usage, "critical,digitalSignature");
    add_extension(c, signer, NID_ext_key_usage, "serverAuth,clientAuth");
    if (san != nullptr) add_extension(c, signer, NID_subject_alt_name, san);
  }
  require(X509_sign(c, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

std::string pem_of(X509* cert) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

std::string pem_of(EVP_PKEY* key) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

std::string write(const std::string& dir, const char* name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

test_pki make() {
  test_pki p;
  char tmpl[] = "/tmp/balrog-pki.XXXXXX";
  require(::mkdtemp(tmpl) != nullptr, "mkdtemp");
  p.dir = tmpl;

  const char* localhost = "DNS:localhost,IP:127.0.0.1,IP:::1";
  key_ptr ca_key = make_key();
  cert_ptr ca = make_cert(ca_key.get(), "balrog test CA", nullptr, nullptr, true, nullptr, 1);
  key_ptr server_key = make_key();
  cert_ptr server =
      make_cert(server_key.get(), "localhost", ca.get(), ca_key.get(), false, localhost, 2);
  key_ptr client_key = make_key();
  cert_ptr client = make_cert(client_key.get(), "balrog-test-client", ca.get(), ca_key.get(), false,
                              "DNS:balrog-test-client", 3);
  key_ptr other_ca_key = make_key();
  cert_ptr other_ca =
      make_cert(other_ca_key.get(), "untrusted test CA", nullptr, nullptr, true, nullptr, 4);
  key_ptr other_key = make_key();
  cert_ptr other = make_cert(other_key.get(), "localhost", other_ca.get(), other_ca_key.get(),
                             false, localhost, 5);

  p.ca_file = write(p.dir, "ca.pem", pem_of(ca.get()));
  p.server_cert_pem = pem_of(server.get());
  p.server_key_pem = pem_of(server_key.get());
  p.server_cert_file = write(p.dir, "server.pem", p.server_cert_pem);
  p.server_key_file = write(p.dir, "server.key", p.server_key_pem);
  p.client_cert_file = write(p.dir, "client.pem", pem_of(client.get()));
  p.client_key_file = write(p.dir, "client.key", pem_of(client_key.get()));
  p.other_ca_file = write(p.dir, "other-ca.pem", pem_of(other_ca.get()));
  p.other_server_cert_file = write(p.dir, "other-server.pem", pem_of(other.get()));
  p.other_server_key_file = write(p.dir, "other-server.key", pem_of(other_key.get()));
  return p;
}

}  // namespace

const test_pki& test_pki::get() {
  static const test_pki p = make();
  static const bool cleanup = (std::atexit([] {
                                 std::error_code ignored;
                                 std::filesystem::remove_all(p.dir, ignored);
                               }),
                               true);
  (void)cleanup;
  return p;
}

}  // namespace balrog::test
