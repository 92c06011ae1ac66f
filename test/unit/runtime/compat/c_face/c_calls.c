/* The compat layer's C face, called from C (see c_calls.h). Compiled as C11 without GNU
 * extensions, -Wall -Wextra -Wpedantic: the headers must be plain C. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE 1

#include "c_calls.h"

#include <balrog/compat/c/openssl.h>
#include <balrog/compat/c/posix_dns.h>
#include <balrog/compat/c/posix_fd.h>
#include <balrog/compat/c/posix_net.h>
#include <balrog/compat/c/posix_offload.h>
#include <balrog/compat/c/posix_thread.h>
#include <balrog/compat/c/posix_time.h>
#include <balrog/compat/c/run_main.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

long c_send_recv(int to, int from, const char* text, char* out, size_t out_size, int timeout_ms) {
  struct pollfd p;
  long n = balrog_send(to, text, strlen(text), 0);
  if (n < 0) return n;
  p.fd = from;
  p.events = POLLIN;
  p.revents = 0;
  if (balrog_poll(&p, 1, timeout_ms) != 1) return -1;
  return balrog_recv(from, out, out_size, 0);
}

long c_recv(int fd, char* out, size_t out_size) { return balrog_recv(fd, out, out_size, 0); }

long c_write(int fd, const char* text) { return balrog_write(fd, text, strlen(text)); }

long c_read(int fd, char* out, size_t out_size) { return balrog_read(fd, out, out_size); }

int c_select_readable(int fd, int timeout_ms) {
  fd_set read_set;
  struct timeval tv;
  FD_ZERO(&read_set);
  FD_SET(fd, &read_set);
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  return balrog_select(fd + 1, &read_set, NULL, NULL, &tv);
}

int c_nanosleep_ms(int ms) {
  struct timespec req;
  req.tv_sec = ms / 1000;
  req.tv_nsec = (long)(ms % 1000) * 1000000L;
  return balrog_nanosleep(&req, NULL);
}

int c_usleep_ms(int ms) { return balrog_usleep((useconds_t)ms * 1000U); }

unsigned c_sleep_zero(void) { return balrog_sleep(0); }

int c_resolve_port(const char* host, const char* port) {
  struct addrinfo hints;
  struct addrinfo* res = NULL;
  int rc;
  int found;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  rc = balrog_getaddrinfo(host, port, &hints, &res);
  if (rc != 0) return rc < 0 ? rc : -rc;
  found = ntohs(((const struct sockaddr_in*)(const void*)res->ai_addr)->sin_port);
  freeaddrinfo(res);
  return found;
}

int c_get_flags(int fd) { return balrog_fcntl(fd, F_GETFL); }

int c_set_flags(int fd, int flags) { return balrog_fcntl(fd, F_SETFL, flags); }

int c_close(int fd) { return balrog_close(fd); }

int c_dup2(int oldfd, int newfd) { return balrog_dup2(oldfd, newfd); }

int c_connect_loopback(int fd, int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return balrog_connect(fd, (const struct sockaddr*)&a, sizeof a);
}

static int c_main(int argc, char** argv, char** envp) {
  (void)argv;
  (void)envp;
  return argc + 10 * balrog_on_fiber() + 100 * (c_nanosleep_ms(5) == 0);
}

int c_run_main(size_t shards) {
  static char arg0[] = "c";
  static char arg1[] = "x";
  static char arg2[] = "y";
  char* argv[] = {arg0, arg1, arg2, NULL};
  return balrog_run_main(c_main, 3, argv, NULL, shards);
}

int c_on_fiber(void) { return balrog_on_fiber(); }

int c_fsync(int fd) { return balrog_fsync(fd); }

int c_system(const char* command) { return balrog_system(command); }

int c_popen_line(const char* command, char* out, size_t out_size) {
  FILE* p = balrog_popen(command, "r");
  if (p == NULL) return -1;
  if (fgets(out, (int)out_size, p) == NULL) out[0] = '\0';
  return balrog_pclose(p);
}

int c_sem_waits(int posts, int waits) {
  sem_t sem;
  int rc = 0;
  int i;
  if (sem_init(&sem, 0, (unsigned)posts) != 0) return -2;
  for (i = 0; i < waits; ++i) rc = balrog_sem_wait(&sem);
  sem_destroy(&sem);
  return rc;
}

int c_bio_read_fd(int fd, char* out, int out_size) {
  BIO* bio = balrog_BIO_new_fd(fd, BIO_NOCLOSE);
  int n;
  if (bio == NULL) return -2;
  n = BIO_read(bio, out, out_size);
  BIO_free(bio);
  return n;
}

int c_bio_write_fd(int fd, const char* text) {
  BIO* bio = balrog_BIO_new_fd(fd, BIO_NOCLOSE);
  int n;
  if (bio == NULL) return -2;
  n = BIO_write(bio, text, (int)strlen(text));
  BIO_free(bio);
  return n;
}

int c_socket_bio_type(int fd) {
  BIO* bio = balrog_BIO_new_socket(fd, BIO_NOCLOSE);
  int type;
  if (bio == NULL) return -1;
  type = BIO_method_type(bio);
  BIO_free(bio);
  return type;
}

int c_fd_bio_type(void) {
  BIO* bio = BIO_new(balrog_BIO_s_fd());
  int type;
  if (bio == NULL) return -1;
  type = BIO_method_type(bio);
  BIO_free(bio);
  return type;
}

int c_ssl_set_fd_get_fd(int fd) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  SSL* ssl;
  int got = -1;
  if (ctx == NULL) return -1;
  ssl = SSL_new(ctx);
  if (ssl != NULL && balrog_SSL_set_fd(ssl, fd) == 1) got = SSL_get_fd(ssl);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return got;
}
