// The BIO under balrog's TLS streams: OpenSSL's record layer reads and writes the socket
// through socket_ops' single attempts (recv, and send with MSG_NOSIGNAL: a closed peer is
// EPIPE, never SIGPIPE), and reports "would block" as a retry so that SSL_get_error says
// WANT_READ / WANT_WRITE and a driver waits on the reactor.
//
// The fd is not fixed at creation: every operation step passes the fd its driver just re-read
// from the owner (see drive.hpp), so a closed stream is never read through a stale number.
#pragma once

#include <openssl/bio.h>

namespace balrog::net::detail {

// A new BIO of balrog's socket method, with no fd yet. nullptr when OpenSSL is out of memory.
BIO* new_socket_bio() noexcept;

// Whether `bio` is one of ours (a foreign SSL* keeps its own BIO: set_bio_fd leaves it alone).
bool is_socket_bio(const BIO* bio) noexcept;

// The fd the next read or write of `bio` uses.
void set_bio_fd(BIO* bio, int fd) noexcept;

// errno of the last failed read or write of `bio` (0: none, or end of stream). OpenSSL's
// SSL_ERROR_SYSCALL is explained by it.
int bio_last_error(const BIO* bio) noexcept;

}  // namespace balrog::net::detail
