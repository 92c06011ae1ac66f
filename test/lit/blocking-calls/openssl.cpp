// The openssl map: the calls that give an SSL object or a BIO its socket (SSL_set_fd,
// SSL_set_rfd, SSL_set_wfd, BIO_new_socket, BIO_s_socket) and the fd BIO (BIO_new_fd,
// BIO_s_fd) become their balrog::compat twins, with the include; SSL_connect / SSL_read /
// SSL_write / SSL_shutdown and the rest of OpenSSL stay as they are (they reach the socket
// through the BIO). Connect and accept BIOs and DTLS (BIO_new_dgram, BIO_s_datagram,
// DTLSv1_listen) are reported with advice, and so is a socket given to OpenSSL inside a C++20
// coroutine. The
// rewritten file must still compile against OpenSSL's headers and balrog's.
// RUN: printf 'maps: [openssl, posix-net]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <balrog/task.hpp>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
// CHECK-FIXES: #include <balrog/compat/openssl.hpp>
// CHECK-FIXES-NEXT: #include <balrog/compat/posix_net.hpp>
// CHECK-FIXES-NEXT: #include <balrog/task.hpp>

// The classic client: connect, SSL_set_fd, then OpenSSL's own calls, unchanged.
int client(SSL_CTX* ctx, int fd, const sockaddr* addr, socklen_t len) {
  if (connect(fd, addr, len) != 0) return -1;
  // CHECK-FIXES: if (balrog::compat::connect(fd, addr, len) != 0) return -1;
  SSL* ssl = SSL_new(ctx);
  if (SSL_set_fd(ssl, fd) != 1) return -1;
  // CHECK-FIXES: if (balrog::compat::SSL_set_fd(ssl, fd) != 1) return -1;
  if (SSL_connect(ssl) != 1) return SSL_get_error(ssl, -1);
  // CHECK-FIXES: if (SSL_connect(ssl) != 1) return SSL_get_error(ssl, -1);
  char buf[64];
  int n = SSL_write(ssl, "ping", 4);
  // CHECK-FIXES: int n = SSL_write(ssl, "ping", 4);
  n = SSL_read(ssl, buf, sizeof buf);
  // CHECK-FIXES: n = SSL_read(ssl, buf, sizeof buf);
  SSL_shutdown(ssl);
  // CHECK-FIXES: SSL_shutdown(ssl);
  SSL_free(ssl);
  return n;
}

// Two fds, one per direction; the server side with SSL_accept.
int server(SSL_CTX* ctx, int in, int out) {
  SSL* ssl = SSL_new(ctx);
  ::SSL_set_rfd(ssl, in);
  // CHECK-FIXES: balrog::compat::SSL_set_rfd(ssl, in);
  ::SSL_set_wfd(ssl, out);
  // CHECK-FIXES: balrog::compat::SSL_set_wfd(ssl, out);
  const int r = SSL_accept(ssl) == 1 && SSL_do_handshake(ssl) == 1 ? SSL_get_fd(ssl) : -1;
  // CHECK-FIXES: const int r = SSL_accept(ssl) == 1 && SSL_do_handshake(ssl) == 1 ? SSL_get_fd(ssl) : -1;
  SSL_free(ssl);
  return r;
}

// BIOs made by hand: BIO_new_socket, and BIO_new(BIO_s_socket()) + BIO_set_fd (a macro over
// BIO_int_ctrl: the method is what changes).
SSL* with_bios(SSL_CTX* ctx, int fd) {
  SSL* ssl = SSL_new(ctx);
  BIO* rbio = BIO_new_socket(fd, BIO_NOCLOSE);
  // CHECK-FIXES: BIO* rbio = balrog::compat::BIO_new_socket(fd, BIO_NOCLOSE);
  BIO* wbio = BIO_new(BIO_s_socket());
  // CHECK-FIXES: BIO* wbio = BIO_new(balrog::compat::BIO_s_socket());
  BIO_set_fd(wbio, fd, BIO_NOCLOSE);
  // CHECK-FIXES: BIO_set_fd(wbio, fd, BIO_NOCLOSE);
  SSL_set_bio(ssl, rbio, wbio);
  // CHECK-FIXES: SSL_set_bio(ssl, rbio, wbio);
  return ssl;
}

// The fd BIO (a pipe, a socket, a file): balrog's twin, whose reads and writes are the compat
// layer's.
BIO* over_a_pipe(int fd) {
  BIO* b = BIO_new_fd(fd, BIO_NOCLOSE);
  // CHECK-FIXES: BIO* b = balrog::compat::BIO_new_fd(fd, BIO_NOCLOSE);
  BIO* c = BIO_new(BIO_s_fd());
  // CHECK-FIXES: BIO* c = BIO_new(balrog::compat::BIO_s_fd());
  BIO_free(c);
  return b;
}

// DTLS: the datagram BIO waits in recvfrom / sendto inside OpenSSL; reported, left alone.
int dtls_server(SSL* ssl, int udp_fd, BIO_ADDR* peer) {
  BIO* d = BIO_new_dgram(udp_fd, BIO_NOCLOSE);
  // CHECK-MESSAGES: :[[@LINE-1]]:12: warning: call to 'BIO_new_dgram' blocks the thread and has no balrog twin; DTLS over UDP waits in the datagram BIO's recvfrom / sendto {{.*}} [blocking-calls]
  // CHECK-FIXES: BIO* d = BIO_new_dgram(udp_fd, BIO_NOCLOSE);
  BIO_free(BIO_new(BIO_s_datagram()));
  // CHECK-MESSAGES: :[[@LINE-1]]:20: warning: call to 'BIO_s_datagram' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  SSL_set_bio(ssl, d, d);
  return DTLSv1_listen(ssl, peer);
  // CHECK-MESSAGES: :[[@LINE-1]]:10: warning: call to 'DTLSv1_listen' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
}

// Connect and accept BIOs do their own blocking connect / accept: reported, left alone.
BIO* by_name(const char* host_port) {
  BIO* b = BIO_new_connect(host_port);
  // CHECK-MESSAGES: :[[@LINE-1]]:12: warning: call to 'BIO_new_connect' blocks the thread and has no balrog twin; a connect BIO resolves the name and connects with blocking calls inside OpenSSL; connect the socket yourself (getaddrinfo + connect: the posix-dns and posix-net maps rewrite them) and use BIO_new_socket(fd, BIO_CLOSE) or SSL_set_fd, or on a fiber balrog::net::tls_connect [blocking-calls]
  // CHECK-FIXES: BIO* b = BIO_new_connect(host_port);
  BIO* a = BIO_new_accept("4433");
  // CHECK-MESSAGES: :[[@LINE-1]]:12: warning: call to 'BIO_new_accept' blocks the thread and has no balrog twin; an accept BIO binds, listens and accepts with blocking calls inside OpenSSL; accept with accept() (the posix-net map rewrites it) and give each connection its own BIO_new_socket(fd, BIO_CLOSE) or SSL_set_fd [blocking-calls]
  BIO_free(a);
  return b;
}

BIO* ssl_by_name(SSL_CTX* ctx) {
  BIO* m = BIO_new(BIO_s_connect());
  // CHECK-MESSAGES: :[[@LINE-1]]:20: warning: call to 'BIO_s_connect' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  BIO_free(m);
  BIO* acc = BIO_new(BIO_s_accept());
  // CHECK-MESSAGES: :[[@LINE-1]]:22: warning: call to 'BIO_s_accept' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  BIO_free(acc);
  return BIO_new_ssl_connect(ctx);
  // CHECK-MESSAGES: :[[@LINE-1]]:10: warning: call to 'BIO_new_ssl_connect' blocks the thread and has no balrog twin; an SSL BIO over a connect BIO, {{.*}} [blocking-calls]
}

// Inside a C++20 coroutine an SSL object on a blocking socket would stall the shard in
// SSL_read: reported with the coroutine form, not rewritten.
balrog::task<int> in_coroutine(SSL* ssl, int fd) {
  const int r = SSL_set_fd(ssl, fd);
  // CHECK-MESSAGES: :[[@LINE-1]]:17: warning: call to 'SSL_set_fd' inside a C++20 coroutine would block every fiber and task of the shard; not rewritten (use the co_await form: balrog::net::tls_stream: co_await balrog::net::async_tls_connect(...), s.async_read_some(...)) [blocking-calls]
  // CHECK-FIXES: const int r = SSL_set_fd(ssl, fd);
  co_return r;
}
