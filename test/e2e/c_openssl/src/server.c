/* c_openssl server: a plain C TLS server written the ordinary blocking way, as a user of
 * OpenSSL's C API writes it: getaddrinfo + bind + listen, accept, SSL_set_fd + SSL_accept,
 * SSL_read / SSL_write line by line, SSL_shutdown. One connection at a time. Nothing here is
 * written for balrog.
 *
 *   c_openssl_server <cert.pem> <key.pem> <port-file> <connections>
 *
 * Listens on an ephemeral port of localhost (written to <port-file> once listening), serves
 * <connections> connections: each sends lines, the server answers each with it upper-cased and
 * numbered, until "bye"; then both close with SSL_shutdown. stdout: what each connection did.
 * Exit status 1 when something failed.
 *
 * Built twice (CMakeLists.txt): as written, and rewritten by balrog_wrap() with RUN_MAIN.
 */
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls_line.h"

static int listen_on_localhost(void) {
  struct addrinfo hints;
  struct addrinfo* found = NULL;
  struct addrinfo* ai;
  int fd = -1;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  if (getaddrinfo("localhost", "0", &hints, &found) != 0) return -1;
  for (ai = found; ai != NULL && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd >= 0 && (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0)) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  return fd;
}

static int serve(SSL_CTX* ctx, int listener, int number) {
  char line[256];
  char answer[300];
  int lines = 0;
  int fd = accept(listener, NULL, NULL);
  SSL* ssl;
  int shutdown_rc;
  if (fd < 0) return -1;
  ssl = SSL_new(ctx);
  if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
    ERR_print_errors_fp(stderr);
    SSL_free(ssl);
    close(fd);
    return -1;
  }
  printf("connection %d: %s", number, SSL_get_version(ssl));
  while (read_line(ssl, line, (int)sizeof line) >= 0 && strcmp(line, "bye") != 0) {
    size_t i;
    for (i = 0; line[i] != '\0'; ++i) line[i] = (char)toupper((unsigned char)line[i]);
    snprintf(answer, sizeof answer, "%d:%s\n", ++lines, line);
    if (SSL_write(ssl, answer, (int)strlen(answer)) <= 0) break;
    printf(" | %s", line);
  }
  shutdown_rc = SSL_shutdown(ssl);
  if (shutdown_rc == 0) shutdown_rc = SSL_shutdown(ssl); /* wait for the client's */
  printf(" | %d lines | SSL_shutdown %d\n", lines, shutdown_rc);
  fflush(stdout);
  SSL_free(ssl);
  close(fd);
  return 0;
}

int main(int argc, char** argv) {
  SSL_CTX* ctx;
  int listener;
  int connections;
  int i;
  int failed = 0;
  struct sockaddr_in bound;
  socklen_t len = sizeof bound;
  FILE* port_file;
  if (argc != 5) {
    fprintf(stderr, "usage: %s cert key port-file connections\n", argv[0]);
    return 2;
  }
  connections = atoi(argv[4]);
  ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, argv[1]) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM) != 1) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  listener = listen_on_localhost();
  if (listener < 0 || getsockname(listener, (struct sockaddr*)&bound, &len) != 0) {
    perror("listen");
    return 1;
  }
  port_file = fopen(argv[3], "w");
  if (port_file == NULL) return 1;
  fprintf(port_file, "%d\n", ntohs(bound.sin_port));
  fclose(port_file);
  for (i = 1; i <= connections; ++i) {
    if (serve(ctx, listener, i) != 0) failed = 1;
  }
  close(listener);
  SSL_CTX_free(ctx);
  return failed;
}
