/* balrog/compat/c/posix_offload.h — POSIX calls that block and cannot be made non-blocking
 * (the disk, file locks, other processes), the C face.
 *
 * balrog_<name> is libc's <name> run through balrog::compat::offloaded<&::name>
 * (balrog/compat/offloaded.hpp), with C linkage and libc's exact signature, result and errno:
 * on a fiber the call runs on balrog's offload pool while only the calling fiber waits (until
 * the call returns, even when the fiber is cancelled: it uses the caller's memory); off a fiber
 * it is libc's own call. balrog-gen rewrites calls in C files to them (the posix-offload map):
 * fsync(fd) becomes balrog_fsync(fd). offloaded.hpp is the manual.
 *
 * The program links balrog::runtime (a C++ library). Usable from C99 and later, and from C++.
 * off_t is the build's (lockf: LP64 targets, where off_t is 64-bit whatever _FILE_OFFSET_BITS).
 */
#ifndef BALROG_COMPAT_C_POSIX_OFFLOAD_H
#define BALROG_COMPAT_C_POSIX_OFFLOAD_H

#include <signal.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The disk. */
int balrog_fsync(int fd);
int balrog_fdatasync(int fd);
int balrog_syncfs(int fd);
void balrog_sync(void);
/* File locks. */
int balrog_flock(int fd, int operation);
int balrog_lockf(int fd, int cmd, off_t len);
/* Other processes. */
pid_t balrog_wait(int* wstatus);
pid_t balrog_waitpid(pid_t pid, int* wstatus, int options);
int balrog_waitid(idtype_t idtype, id_t id, siginfo_t* infop, int options);
int balrog_system(const char* command);
FILE* balrog_popen(const char* command, const char* type);
int balrog_pclose(FILE* stream);

#ifdef __cplusplus
}
#endif

#endif /* BALROG_COMPAT_C_POSIX_OFFLOAD_H */
