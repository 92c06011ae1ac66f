// The C face of the OpenSSL twins (balrog/compat/c/openssl.h): each function forwards to its
// balrog::compat twin, which never throws (failures are OpenSSL's: 0 / NULL with an error
// queued), so nothing crosses the C boundary.
#include "balrog/compat/c/openssl.h"

#include "balrog/compat/openssl.hpp"

extern "C" {

const BIO_METHOD* balrog_BIO_s_socket(void) { return balrog::compat::BIO_s_socket(); }
BIO* balrog_BIO_new_socket(int sock, int close_flag) {
  return balrog::compat::BIO_new_socket(sock, close_flag);
}
const BIO_METHOD* balrog_BIO_s_fd(void) { return balrog::compat::BIO_s_fd(); }
BIO* balrog_BIO_new_fd(int fd, int close_flag) {
  return balrog::compat::BIO_new_fd(fd, close_flag);
}
int balrog_SSL_set_fd(SSL* ssl, int fd) { return balrog::compat::SSL_set_fd(ssl, fd); }
int balrog_SSL_set_rfd(SSL* ssl, int fd) { return balrog::compat::SSL_set_rfd(ssl, fd); }
int balrog_SSL_set_wfd(SSL* ssl, int fd) { return balrog::compat::SSL_set_wfd(ssl, fd); }

}  // extern "C"
