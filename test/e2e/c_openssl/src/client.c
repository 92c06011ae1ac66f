/* c_openssl client: a plain C TLS client written the ordinary blocking way: getaddrinfo +
 * socket + connect, BIO_new_socket + SSL_set_bio + SSL_connect with certificate and host name
 * verification, SSL_write / SSL_read line by line, SSL_shutdown. One connection at a time.
 * Nothing here is written for balrog.
 *
 *   c_openssl_client <host> <port> <ca.pem> <connections>
 *
 * Each connection sends three lines and "bye", prints the server's answers, and closes with
 * SSL_shutdown (then reads the server's close_notify). Exit status 1 when something failed.
 *
 * Built twice (CMakeLists.txt): as written, and rewritten by balrog_wrap() with RUN_MAIN.
 */
#include <netdb.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls_line.h"

static int connect_to(const char* host, const char* port) {
  struct addrinfo hints;
  struct addrinfo* found = NULL;
  struct addrinfo* ai;
  int fd = -1;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &found) != 0) return -1;
  for (ai = found; ai != NULL && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  return fd;
}

static int talk(SSL_CTX* ctx, const char* host, const char* port, int number) {
  static const char* const words[] = {"alpha", "beta", "gamma"};
  char line[256];
  char answer[300];
  char end[8];
  int fd = connect_to(host, port);
  BIO* bio;
  SSL* ssl;
  size_t i;
  int rc;
  if (fd < 0) return -1;
  ssl = SSL_new(ctx);
  bio = BIO_new_socket(fd, BIO_NOCLOSE);
  if (ssl == NULL || bio == NULL) return -1;
  SSL_set_bio(ssl, bio, bio);
  SSL_set_tlsext_host_name(ssl, host);
  SSL_set1_host(ssl, host);
  if (SSL_connect(ssl) != 1) {
    ERR_print_errors_fp(stderr);
    SSL_free(ssl);
    close(fd);
    return -1;
  }
  printf("client %d: %s verify=%s", number, SSL_get_version(ssl),
         SSL_get_verify_result(ssl) == X509_V_OK ? "ok" : "failed");
  for (i = 0; i < sizeof words / sizeof words[0]; ++i) {
    snprintf(line, sizeof line, "%s %d\n", words[i], number);
    if (SSL_write(ssl, line, (int)strlen(line)) <= 0 ||
        read_line(ssl, answer, (int)sizeof answer) < 0) {
      printf(" | lost\n");
      SSL_free(ssl);
      close(fd);
      return -1;
    }
    printf(" | %s", answer);
  }
  SSL_write(ssl, "bye\n", 4);
  rc = SSL_shutdown(ssl);
  /* The server's close_notify: SSL_read ends with SSL_ERROR_ZERO_RETURN. */
  rc = SSL_read(ssl, end, (int)sizeof end);
  printf(" | %s\n", rc == 0 && SSL_get_error(ssl, rc) == SSL_ERROR_ZERO_RETURN ? "close_notify"
                                                                              : "no close_notify");
  fflush(stdout);
  SSL_free(ssl);
  close(fd);
  return 0;
}

int main(int argc, char** argv) {
  SSL_CTX* ctx;
  int connections;
  int i;
  int failed = 0;
  if (argc != 5) {
    fprintf(stderr, "usage: %s host port ca connections\n", argv[0]);
    return 2;
  }
  connections = atoi(argv[4]);
  ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  for (i = 1; i <= connections; ++i) {
    if (talk(ctx, argv[1], argv[2], i) != 0) failed = 1;
  }
  SSL_CTX_free(ctx);
  return failed;
}
