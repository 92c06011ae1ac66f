// The C face of the thread and semaphore waits (balrog/compat/c/posix_thread.h): libc's calls
// run through balrog::compat::offloaded, with libc's result and errno. offloaded may only run
// out of memory before the call is made: reported as libc would (pthread_join's error number,
// the semaphores' -1 with errno ENOMEM), so nothing crosses the C boundary.
#include "balrog/compat/c/posix_thread.h"

#include <cerrno>

#include "balrog/compat/offloaded.hpp"

extern "C" {

int balrog_pthread_join(pthread_t thread, void** retval) {
  try {
    return balrog::compat::offloaded<&::pthread_join>(thread, retval);
  } catch (...) {
    return ENOMEM;
  }
}

int balrog_sem_wait(sem_t* sem) {
  try {
    return balrog::compat::offloaded<&::sem_wait>(sem);
  } catch (...) {
    errno = ENOMEM;
    return -1;
  }
}

int balrog_sem_timedwait(sem_t* sem, const struct timespec* abs_timeout) {
  try {
    return balrog::compat::offloaded<&::sem_timedwait>(sem, abs_timeout);
  } catch (...) {
    errno = ENOMEM;
    return -1;
  }
}

int balrog_sem_clockwait(sem_t* sem, clockid_t clockid, const struct timespec* abs_timeout) {
  try {
    return balrog::compat::offloaded<&::sem_clockwait>(sem, clockid, abs_timeout);
  } catch (...) {
    errno = ENOMEM;
    return -1;
  }
}

}  // extern "C"
