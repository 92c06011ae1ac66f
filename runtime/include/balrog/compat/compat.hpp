// balrog/compat/compat.hpp — the whole compat API: libc's and the standard library's blocking
// calls, with their own signatures and semantics, made safe to call on a fiber.
//
// Code rewritten by balrog-gen calls balrog::compat::<name> where it called <name>. Each
// function behaves like the original (return values, errno, partial transfers) and
//  - on a plain thread with no balrog runtime (sync mode) simply calls the original;
//  - on a fiber suspends only the fiber while it waits: other fibers keep running;
//  - inside C++20 coroutine code fails with errno EDEADLK instead of stalling the shard.
// On a fiber, cancellation and an expired deadline_scope surface as ECANCELED and ETIMEDOUT,
// never as exceptions. Each header below is the manual for its functions:
//
//   posix_net.hpp    connect, accept, accept4, read, write, recv, send, recvfrom, sendto,
//                    recvmsg, sendmsg, poll, select
//   posix_fd.hpp     close, dup2, dup3, fcntl, ioctl, setsockopt: never wait; they tell the
//                    runtime that an fd ends or changes
//   posix_time.hpp   sleep, usleep, nanosleep
//   posix_dns.hpp    getaddrinfo, getnameinfo, gethostbyname, gethostbyname_r: run on the
//                    offload pool
//   this_thread.hpp  this_thread::sleep_for, sleep_until, yield
// and, not included here (it needs OpenSSL's headers):
//   openssl.hpp      SSL_set_fd, SSL_set_rfd, SSL_set_wfd, BIO_new_socket, BIO_s_socket: a
//                    socket BIO whose I/O is read/write above, so SSL_read/SSL_write... wait
//                    on the fiber
#pragma once

#include "balrog/compat/posix_dns.hpp"
#include "balrog/compat/posix_fd.hpp"
#include "balrog/compat/posix_net.hpp"
#include "balrog/compat/posix_time.hpp"
#include "balrog/compat/this_thread.hpp"
