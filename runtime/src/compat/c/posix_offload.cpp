// The C face of the offloaded POSIX calls (balrog/compat/c/posix_offload.h): each runs libc's
// own call through balrog::compat::offloaded, with libc's result and errno. libc's calls never
// throw; offloaded itself may only run out of memory before the call is made, which the C face
// reports as libc would (the failure result, errno ENOMEM), so nothing crosses the C boundary.
#include "balrog/compat/c/posix_offload.h"

#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "balrog/compat/offloaded.hpp"

namespace {

// offloaded<Fn>(args...), or `failed` with errno ENOMEM when it could not be run.
template <auto Fn, class Result, class... Args>
Result offloaded_or(Result failed, Args... args) noexcept {
  try {
    return balrog::compat::offloaded<Fn>(args...);
  } catch (...) {
    errno = ENOMEM;
    return failed;
  }
}

}  // namespace

extern "C" {

int balrog_fsync(int fd) { return offloaded_or<&::fsync>(-1, fd); }
int balrog_fdatasync(int fd) { return offloaded_or<&::fdatasync>(-1, fd); }
int balrog_syncfs(int fd) { return offloaded_or<&::syncfs>(-1, fd); }
void balrog_sync(void) {
  try {
    balrog::compat::offloaded<&::sync>();
  } catch (...) {  // out of memory: sync as libc's, on this thread
    ::sync();
  }
}

int balrog_flock(int fd, int operation) { return offloaded_or<&::flock>(-1, fd, operation); }
int balrog_lockf(int fd, int cmd, off_t len) { return offloaded_or<&::lockf>(-1, fd, cmd, len); }

pid_t balrog_wait(int* wstatus) { return offloaded_or<&::wait>(pid_t{-1}, wstatus); }
pid_t balrog_waitpid(pid_t pid, int* wstatus, int options) {
  return offloaded_or<&::waitpid>(pid_t{-1}, pid, wstatus, options);
}
int balrog_waitid(idtype_t idtype, id_t id, siginfo_t* infop, int options) {
  return offloaded_or<&::waitid>(-1, idtype, id, infop, options);
}
int balrog_system(const char* command) { return offloaded_or<&::system>(-1, command); }
FILE* balrog_popen(const char* command, const char* type) {
  return offloaded_or<&::popen>(static_cast<FILE*>(nullptr), command, type);
}
int balrog_pclose(FILE* stream) { return offloaded_or<&::pclose>(-1, stream); }

}  // extern "C"
