/* c_openssl: reading a line from a TLS connection, shared by the server and the client. Not
 * rewritten: SSL_read waits in the BIO that SSL_set_fd / BIO_new_socket installed. */
#ifndef C_OPENSSL_TLS_LINE_H
#define C_OPENSSL_TLS_LINE_H

#include <openssl/ssl.h>

/* One line (without its newline) into line, or -1 at the end of the stream. */
static inline int read_line(SSL* ssl, char* line, int size) {
  int used = 0;
  while (used < size - 1) {
    int n = SSL_read(ssl, line + used, 1);
    if (n <= 0) return -1;
    if (line[used] == '\n') break;
    ++used;
  }
  line[used] = '\0';
  return used;
}

#endif
