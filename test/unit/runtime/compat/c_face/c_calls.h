/* Calls of the compat layer's C face (the headers of balrog/compat/c/) made from C (c_calls.c,
 * compiled as C11), for c_face_test.cpp. Each returns the call's result; errno is the call's. */
#ifndef BALROG_TEST_C_FACE_C_CALLS_H
#define BALROG_TEST_C_FACE_C_CALLS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* balrog_send of `text` on `to`, then balrog_poll (POLLIN, timeout_ms) and balrog_recv on
 * `from` into out (out_size bytes): the bytes received, or -1 with errno. */
long c_send_recv(int to, int from, const char* text, char* out, size_t out_size, int timeout_ms);
/* balrog_recv on `fd` (waits for data). */
long c_recv(int fd, char* out, size_t out_size);
/* balrog_write / balrog_read. */
long c_write(int fd, const char* text);
long c_read(int fd, char* out, size_t out_size);
/* balrog_select for readability of `fd`, timeout_ms: select's result. */
int c_select_readable(int fd, int timeout_ms);
/* balrog_nanosleep, balrog_usleep, balrog_sleep(0). */
int c_nanosleep_ms(int ms);
int c_usleep_ms(int ms);
unsigned c_sleep_zero(void);
/* balrog_getaddrinfo of a numeric host and port: the port of the first result, or the EAI_*
 * code (negative) on failure. */
int c_resolve_port(const char* host, const char* port);
/* balrog_fcntl(F_GETFL) / balrog_fcntl(F_SETFL, flags) / balrog_close / balrog_dup2. */
int c_get_flags(int fd);
int c_set_flags(int fd, int flags);
int c_close(int fd);
int c_dup2(int oldfd, int newfd);
/* balrog_connect of a TCP socket to 127.0.0.1:port: connect's result. */
int c_connect_loopback(int fd, int port);
/* balrog_run_main on c_main below, with argv {"c", "x", "y"} and `shards`. c_main returns
 * argc + 10 * balrog_on_fiber() + 100 * (whether a 5 ms balrog_nanosleep succeeded). */
int c_run_main(size_t shards);
int c_on_fiber(void);

/* posix_offload.h: balrog_fsync of `fd`; balrog_system of `command` (its wait status);
 * balrog_popen of `command`, its first line read into out (out_size bytes), balrog_pclose:
 * pclose's result, or -1 when popen failed. */
int c_fsync(int fd);
int c_system(const char* command);
int c_popen_line(const char* command, char* out, size_t out_size);
/* posix_thread.h: balrog_sem_wait on a semaphore posted `posts` times, waited `waits` times:
 * the last result. */
int c_sem_waits(int posts, int waits);
/* openssl.h: a balrog_BIO_new_fd BIO on `fd` (BIO_NOCLOSE): BIO_read of up to out_size bytes
 * into out (BIO_read's result), or BIO_write of `text` (c_bio_write_fd). */
int c_bio_read_fd(int fd, char* out, int out_size);
int c_bio_write_fd(int fd, const char* text);
/* openssl.h: BIO_method_type of balrog_BIO_new_socket(fd, BIO_NOCLOSE) and of
 * BIO_new(balrog_BIO_s_fd()); SSL_get_fd after balrog_SSL_set_fd(ssl, fd) (-1 on failure). */
int c_socket_bio_type(int fd);
int c_fd_bio_type(void);
int c_ssl_set_fd_get_fd(int fd);

#ifdef __cplusplus
}
#endif

#endif /* BALROG_TEST_C_FACE_C_CALLS_H */
