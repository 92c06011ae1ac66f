/* balrog/compat/c/posix_thread.h — waits for POSIX threads and semaphores, the C face.
 *
 * balrog_pthread_join and the semaphore waits (balrog_sem_wait, balrog_sem_timedwait,
 * balrog_sem_clockwait) are libc's calls run through balrog::compat::offloaded
 * (balrog/compat/offloaded.hpp), with C linkage and libc's exact signatures, results and errno:
 * on a fiber the call runs on balrog's offload pool while only the calling fiber waits (a thread
 * or a semaphore has no owner, so another thread may wait for it); off a fiber it is libc's own.
 * balrog-gen rewrites calls in C files to them (the posix-thread map). The map's other entries
 * (pthread_create, mutexes, condition variables, rwlocks, barriers) have no C twin: see
 * docs/maps/posix-thread.md for why.
 *
 * The program links balrog::runtime (a C++ library). Usable from C99 and later, and from C++.
 */
#ifndef BALROG_COMPAT_C_POSIX_THREAD_H
#define BALROG_COMPAT_C_POSIX_THREAD_H

#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

int balrog_pthread_join(pthread_t thread, void** retval);
int balrog_sem_wait(sem_t* sem);
int balrog_sem_timedwait(sem_t* sem, const struct timespec* abs_timeout);
int balrog_sem_clockwait(sem_t* sem, clockid_t clockid, const struct timespec* abs_timeout);

#ifdef __cplusplus
}
#endif

#endif /* BALROG_COMPAT_C_POSIX_THREAD_H */
