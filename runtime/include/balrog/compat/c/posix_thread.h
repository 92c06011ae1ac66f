/* balrog/compat/c/posix_thread.h — POSIX threads, mutexes, condition variables and
 * semaphores on fibers, the C face (and, being C, callable from C++).
 *
 * Each balrog_<name> has libc's exact signature, result and errno. balrog-gen rewrites calls to
 * them (the posix-thread map). Off a fiber (a plain thread; coroutine code) each is libc's own.
 *
 *  - balrog_pthread_join and the semaphore waits (balrog_sem_wait, balrog_sem_timedwait,
 *    balrog_sem_clockwait) run libc's call through balrog::compat::offloaded
 *    (balrog/compat/offloaded.hpp): on a fiber the call runs on balrog's offload pool while only
 *    the calling fiber waits (a thread or a semaphore has no owner, so another thread may wait
 *    for it).
 *  - The mutex and condition variable twins work on the user's own pthread_mutex_t and
 *    pthread_cond_t (made as usual: PTHREAD_MUTEX_INITIALIZER, pthread_mutex_init, any type and
 *    attribute), and add what a pthread mutex cannot know, which fiber of its thread holds it:
 *    on a fiber, a lock that must wait suspends the fiber, not the thread, and a second fiber
 *    of the holder's thread waits for it (a recursive mutex is recursive per fiber). Threads and
 *    code that was not rewritten still exclude each other through the mutex itself. Lock and
 *    unlock a mutex through the twins both (or neither: balrog-gen rewrites both). A holder
 *    locking again gets EDEADLK unless the mutex is recursive; an unlock by another fiber than
 *    the holder gets EPERM. The waits ignore fiber cancellation and deadline_scope. A fiber
 *    waiting for a mutex unlocked by code that was not rewritten notices within 5 ms; a fiber
 *    in balrog_pthread_cond_wait returns at least every 10 ms (a spurious wake-up, which POSIX
 *    allows: loop on the predicate), so a signal from code that was not rewritten is not lost.
 *    balrog_pthread_cond_timedwait reads the condition variable's clock as glibc stores it.
 *
 * pthread_create stays an OS thread (no C twin): docs/maps/posix-thread.md says why.
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

int balrog_pthread_mutex_lock(pthread_mutex_t* mutex);
int balrog_pthread_mutex_trylock(pthread_mutex_t* mutex);
int balrog_pthread_mutex_timedlock(pthread_mutex_t* mutex, const struct timespec* abstime);
int balrog_pthread_mutex_clocklock(pthread_mutex_t* mutex, clockid_t clockid,
                                   const struct timespec* abstime);
int balrog_pthread_mutex_unlock(pthread_mutex_t* mutex);

int balrog_pthread_cond_wait(pthread_cond_t* cond, pthread_mutex_t* mutex);
int balrog_pthread_cond_timedwait(pthread_cond_t* cond, pthread_mutex_t* mutex,
                                  const struct timespec* abstime);
int balrog_pthread_cond_clockwait(pthread_cond_t* cond, pthread_mutex_t* mutex, clockid_t clockid,
                                  const struct timespec* abstime);
int balrog_pthread_cond_signal(pthread_cond_t* cond);
int balrog_pthread_cond_broadcast(pthread_cond_t* cond);

#ifdef __cplusplus
}
#endif

#endif /* BALROG_COMPAT_C_POSIX_THREAD_H */
