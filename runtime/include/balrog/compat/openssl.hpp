// balrog/compat/openssl.hpp — OpenSSL over a socket, made safe to run on a fiber.
//
// balrog-gen's `openssl` map rewrites the calls that give an SSL object (or a BIO) a socket —
// SSL_set_fd, SSL_set_rfd, SSL_set_wfd, BIO_new_socket, BIO_s_socket, and the fd BIO's
// BIO_new_fd, BIO_s_fd — to these twins. They
// have OpenSSL's exact signatures and do what OpenSSL's own do, with one difference: the BIO
// they install is balrog's twin of OpenSSL's socket BIO, whose reads and writes are
// balrog::compat::read / balrog::compat::write (balrog/compat/posix_net.hpp) where OpenSSL's
// are read(2) / write(2). Everything else is left as it was: SSL_connect, SSL_accept,
// SSL_do_handshake, SSL_read, SSL_write, SSL_shutdown, SSL_peek... are OpenSSL's own, called
// unchanged; they reach the socket only through the BIO, so
//
//  - on a fiber, with the socket in blocking mode, they suspend the fiber (not the thread)
//    while the socket is not readable / writable: other fibers of the thread keep running;
//  - on a fiber, with the socket in non-blocking mode, they return -1 with
//    SSL_ERROR_WANT_READ / SSL_ERROR_WANT_WRITE as with OpenSSL's BIO;
//  - off a fiber (sync mode: a plain thread with no balrog scheduler) the BIO calls read(2) and
//    write(2) exactly as OpenSSL's does: same blocking, same results.
// Which of these applies is decided at each read and write, not when the fd is set: an SSL
// object set up on a plain thread and used on a fiber later (or the other way) behaves right.
//
// The BIO keeps OpenSSL's socket BIO's contract, bit for bit where it is observable:
//  - BIO_method_type() is BIO_TYPE_SOCKET and BIO_method_name() "socket"; BIO_get_fd,
//    BIO_set_fd, BIO_get_close / BIO_set_close, BIO_eof, BIO_flush, BIO_puts behave the same,
//    so SSL_get_fd / SSL_get_rfd / SSL_get_wfd and code that inspects the BIO are unaffected;
//  - a read that returns 0 marks end of stream (BIO_eof), which is what lets OpenSSL tell an
//    unexpected EOF from a close_notify; errno is left as the system call left it, so
//    SSL_get_error() and ERR_* report SSL_ERROR_SYSCALL, SSL_ERROR_ZERO_RETURN, SSL_ERROR_SSL
//    exactly as with OpenSSL's BIO;
//  - the retry flags (BIO_should_retry, SSL_ERROR_WANT_*) are set exactly when OpenSSL's
//    socket BIO sets them (BIO_sock_should_retry: EAGAIN, EINTR, ENOTCONN, EINPROGRESS...).
//    A blocking socket on a fiber never yields EAGAIN or EINTR, so they are never set there,
//    as with a blocking socket on a thread (except for SO_RCVTIMEO / SO_SNDTIMEO, which give
//    EAGAIN in both);
//  - BIO_NOCLOSE / BIO_CLOSE: a BIO that owns its fd closes it when freed, through
//    balrog::compat::close (so fibers waiting on the fd are woken).
// OpenSSL's error queue is per OS thread, shared by the thread's fibers. So that a fiber that
// waits inside SSL_read sees the queue as it would on a thread of its own, each read and write
// on a fiber takes the fiber's pending errors off the queue before the call and puts them back
// after it, dropping whatever other fibers left there meanwhile (their SSL_get_error is not
// fooled by it, and their ERR_clear_error does not take this fiber's errors). Errors a fiber
// leaves on the queue while it waits elsewhere (a sleep, a plain recv) can thus be dropped by
// another fiber's SSL I/O; read them before waiting.
// On a fiber the compat calls' documented deviations apply: a cancelled fiber or an expired
// balrog::deadline_scope makes the pending read or write fail with ECANCELED / ETIMEDOUT, which
// OpenSSL reports as SSL_ERROR_SYSCALL with that errno; inside C++20 coroutine code a read or
// write that would wait fails with EDEADLK (use balrog::net::tls_stream there).
//
// Not the same as OpenSSL's: kernel TLS. OpenSSL's SSL_set_fd and BIO_new_socket enable the
// "tls" TCP ULP on the socket and its BIO can hand the record layer to the kernel when
// SSL_OP_ENABLE_KTLS is set; balrog's BIO answers "no kTLS", so records are always encrypted
// in user space (kTLS would move the data outside the BIO, where the fiber cannot wait).
//
// Not covered (the `openssl` map reports them): BIO_new_connect / BIO_s_connect and
// BIO_new_accept / BIO_s_accept (and BIO_new_ssl_connect), whose BIOs resolve, connect and
// accept on their own, with blocking system calls balrog cannot reach; DTLS's datagram BIO
// (BIO_new_dgram, BIO_s_datagram, DTLSv1_listen), whose recvfrom / sendto are OpenSSL's. Connect or
// accept the socket yourself (the posix-net map rewrites connect/accept) and use SSL_set_fd or
// BIO_new_socket.
//
// None of these functions throws; like OpenSSL's they return 0 / NULL (with an error on
// OpenSSL's error queue) when memory runs out.
#pragma once

#include <openssl/bio.h>
#include <openssl/ssl.h>

namespace balrog::compat {

// OpenSSL's BIO_s_socket(): the method of balrog's socket BIO (made once, kept for the
// process). BIO_new(balrog::compat::BIO_s_socket()) then BIO_set_fd(bio, fd, flag) works as
// with OpenSSL's.
const BIO_METHOD* BIO_s_socket();
// OpenSSL's BIO_new_socket(): a socket BIO on `sock`; `close_flag` is BIO_CLOSE or BIO_NOCLOSE.
BIO* BIO_new_socket(int sock, int close_flag);

// OpenSSL's BIO_s_fd() / BIO_new_fd(): balrog's twin of OpenSSL's fd BIO (BIO_TYPE_FD,
// "file descriptor"): any fd (a pipe, a socket, a terminal, a regular file), read and written
// through balrog::compat::read / write: on a fiber a blocking pipe or socket suspends the fiber,
// a regular file is read as read(2) reads it; off a fiber it is OpenSSL's fd BIO. Seeking
// (BIO_seek, BIO_tell, BIO_reset), BIO_gets / BIO_puts, the close flag, EOF and the retry flags
// (BIO_fd_should_retry) are OpenSSL's.
const BIO_METHOD* BIO_s_fd();
BIO* BIO_new_fd(int fd, int close_flag);

// OpenSSL's SSL_set_fd(): `ssl` reads and writes `fd` through one new socket BIO (BIO_NOCLOSE).
// 1 on success, 0 (with an error queued) when the BIO could not be made.
int SSL_set_fd(SSL* ssl, int fd);
// OpenSSL's SSL_set_rfd() / SSL_set_wfd(): a socket BIO for one direction. When the other
// direction already uses balrog's socket BIO on the same fd, that BIO is shared, as OpenSSL
// shares its own.
int SSL_set_rfd(SSL* ssl, int fd);
int SSL_set_wfd(SSL* ssl, int fd);

}  // namespace balrog::compat
