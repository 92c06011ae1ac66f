// A throwaway public-key infrastructure for TLS tests, made with OpenSSL's API on first use:
// a private CA, a server certificate it signed (for localhost, 127.0.0.1 and ::1), a client
// certificate it signed (for mutual TLS), and a second, untrusted CA. Everything is written as
// PEM files to a fresh temporary directory, deleted when the test binary exits.
//
//   const auto& pki = balrog::test::test_pki::get();
//   auto server = tls_context::server({.certificate_chain_file = pki.server_cert_file,
//                                      .private_key_file = pki.server_key_file});
//   auto client = tls_context::client({.ca_file = pki.ca_file});
//
// Keys are EC P-256: fast to make, so the first test pays a few milliseconds.
#pragma once

#include <string>

namespace balrog::test {

struct test_pki {
  static const test_pki& get();

  std::string dir;
  std::string ca_file;           // the trusted CA's certificate
  std::string server_cert_file;  // leaf: CN localhost, SAN DNS:localhost IP:127.0.0.1 IP:::1
  std::string server_key_file;
  std::string client_cert_file;  // leaf: CN balrog-test-client, for clientAuth
  std::string client_key_file;
  std::string other_ca_file;           // a CA that signed nothing here
  std::string other_server_cert_file;  // localhost, signed by other_ca (untrusted by ca_file)
  std::string other_server_key_file;
  // The same server certificate and key as PEM text.
  std::string server_cert_pem;
  std::string server_key_pem;
};

}  // namespace balrog::test
