/* balrog/compat/c/posix_time.h — the POSIX sleeps' C face.
 *
 * The functions of balrog/compat/posix_time.hpp with C linkage: balrog_sleep, balrog_usleep,
 * balrog_nanosleep, with libc's exact signatures and semantics (the unslept time, -1 + errno).
 * On a fiber they suspend the fiber instead of the thread; off a fiber they are libc's own.
 * balrog-gen rewrites calls in C files to them (the posix-time map). posix_time.hpp is the
 * manual (cancellation and deadlines as errno ECANCELED / ETIMEDOUT).
 *
 * The program links balrog::runtime (a C++ library). Usable from C99 and later, and from C++.
 */
#ifndef BALROG_COMPAT_C_POSIX_TIME_H
#define BALROG_COMPAT_C_POSIX_TIME_H

#include <time.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

unsigned int balrog_sleep(unsigned int seconds);
/* glibc's own spelling of usleep's parameter: useconds_t is declared only where usleep is
 * (not under _POSIX_C_SOURCE >= 200809L, which dropped it), __useconds_t always. */
int balrog_usleep(__useconds_t usec);
int balrog_nanosleep(const struct timespec* req, struct timespec* rem);

#ifdef __cplusplus
}
#endif

#endif /* BALROG_COMPAT_C_POSIX_TIME_H */
