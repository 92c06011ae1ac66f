/* balrog/compat/c/openssl.h — OpenSSL over a socket, the C face.
 *
 * The functions of balrog/compat/openssl.hpp with C linkage: balrog_SSL_set_fd,
 * balrog_SSL_set_rfd, balrog_SSL_set_wfd, balrog_BIO_new_socket, balrog_BIO_s_socket,
 * balrog_BIO_new_fd, balrog_BIO_s_fd, with OpenSSL's exact signatures and results. They install
 * balrog's twin of OpenSSL's socket (or fd) BIO, whose reads and writes go through the compat
 * layer: on a fiber, with a blocking socket, SSL_connect / SSL_accept / SSL_read / SSL_write /
 * SSL_shutdown (left as they are) suspend the fiber instead of the thread; off a fiber the BIO
 * is OpenSSL's, bit for bit. balrog-gen rewrites calls in C files to them (the openssl map).
 * openssl.hpp is the manual (error queue, retry flags, kTLS, what is not covered).
 *
 * The program links balrog::runtime (a C++ library) and OpenSSL's libssl. Usable from C99 and
 * later, and from C++.
 */
#ifndef BALROG_COMPAT_C_OPENSSL_H
#define BALROG_COMPAT_C_OPENSSL_H

#include <openssl/bio.h>
#include <openssl/ssl.h>

#ifdef __cplusplus
extern "C" {
#endif

const BIO_METHOD* balrog_BIO_s_socket(void);
BIO* balrog_BIO_new_socket(int sock, int close_flag);
const BIO_METHOD* balrog_BIO_s_fd(void);
BIO* balrog_BIO_new_fd(int fd, int close_flag);
int balrog_SSL_set_fd(SSL* ssl, int fd);
int balrog_SSL_set_rfd(SSL* ssl, int fd);
int balrog_SSL_set_wfd(SSL* ssl, int fd);

#ifdef __cplusplus
}
#endif

#endif /* BALROG_COMPAT_C_OPENSSL_H */
