// A C OpenSSL program: the openssl map's calls that give an SSL object (or a BIO) its socket
// become the C face (balrog_SSL_set_fd... in balrog/compat/c/openssl.h), which installs
// balrog's socket BIO; SSL_connect / SSL_read / SSL_write stay OpenSSL's. The map's report rows
// (connect BIOs) are reported with their advice, as in C++. The result compiles as C and
// mentions no C++ name.
// RUN: printf 'maps: [openssl]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- -std=c11 -I%runtime_include
// RUN: clang-16 -x c -std=c11 -Wall -Wextra -Werror -fsyntax-only -I%runtime_include %t.c
// RUN: sed 's|//.*||' %t.c | %not grep -E '::|\.hpp'

#include <openssl/bio.h>
#include <openssl/ssl.h>
// CHECK-FIXES: #include <balrog/compat/c/openssl.h>
// CHECK-FIXES-NEXT: #include <openssl/bio.h>

int talk(SSL_CTX* ctx, int fd, int rfd, int wfd) {
  SSL* ssl = SSL_new(ctx);
  SSL* split = SSL_new(ctx);
  BIO* sock = BIO_new_socket(fd, BIO_NOCLOSE);
  // CHECK-FIXES: BIO* sock = balrog_BIO_new_socket(fd, BIO_NOCLOSE);
  BIO* raw = BIO_new(BIO_s_socket());
  // CHECK-FIXES: BIO* raw = BIO_new(balrog_BIO_s_socket());
  BIO* pipe_bio = BIO_new_fd(rfd, BIO_NOCLOSE);
  // CHECK-FIXES: BIO* pipe_bio = balrog_BIO_new_fd(rfd, BIO_NOCLOSE);
  BIO* other = BIO_new(BIO_s_fd());
  // CHECK-FIXES: BIO* other = BIO_new(balrog_BIO_s_fd());
  BIO* conn = BIO_new_connect("example.org:443");
  // CHECK-MESSAGES: :[[@LINE-1]]:15: warning: call to 'BIO_new_connect' blocks the thread and has no balrog twin; a connect BIO resolves the name and connects with blocking calls inside OpenSSL{{.*}} [blocking-calls]
  // CHECK-FIXES: BIO* conn = BIO_new_connect("example.org:443");
  char buf[16];
  int n;
  if (SSL_set_fd(ssl, fd) != 1) return -1;
  // CHECK-FIXES: if (balrog_SSL_set_fd(ssl, fd) != 1) return -1;
  if (SSL_set_rfd(split, rfd) != 1 || SSL_set_wfd(split, wfd) != 1) return -1;
  // CHECK-FIXES: if (balrog_SSL_set_rfd(split, rfd) != 1 || balrog_SSL_set_wfd(split, wfd) != 1) return -1;
  if (SSL_connect(ssl) != 1) return -1;
  // CHECK-FIXES: if (SSL_connect(ssl) != 1) return -1;
  n = SSL_write(ssl, "ping", 4);
  // CHECK-FIXES: n = SSL_write(ssl, "ping", 4);
  n = SSL_read(ssl, buf, (int)sizeof buf);
  // CHECK-FIXES: n = SSL_read(ssl, buf, (int)sizeof buf);
  BIO_free(sock);
  BIO_free(raw);
  BIO_free(pipe_bio);
  BIO_free(other);
  BIO_free(conn);
  SSL_free(split);
  SSL_free(ssl);
  return n;
}
