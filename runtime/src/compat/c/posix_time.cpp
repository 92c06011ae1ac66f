// The C face of the POSIX sleeps (balrog/compat/c/posix_time.h): each function forwards to its
// balrog::compat twin (errno, never an exception).
#include "balrog/compat/c/posix_time.h"

#include "balrog/compat/posix_time.hpp"

extern "C" {

unsigned int balrog_sleep(unsigned int seconds) { return balrog::compat::sleep(seconds); }
int balrog_usleep(useconds_t usec) { return balrog::compat::usleep(usec); }
int balrog_nanosleep(const struct timespec* req, struct timespec* rem) {
  return balrog::compat::nanosleep(req, rem);
}

}  // extern "C"
