/* balrog/compat/c/run_main.h — a C program's main() on the runtime.
 *
 * The C face of balrog/run_main.hpp. balrog-gen's run-main pass, on a C file, renames the
 * program's main to balrog_user_main and writes after it:
 *
 *   static int balrog_main_entry(int argc, char** argv, char** envp) {
 *     (void)envp;
 *     return balrog_user_main(argc, argv);
 *   }
 *   int main(int argc, char** argv) {
 *     return balrog_run_main(balrog_main_entry, argc, argv, NULL, 1);
 *   }
 *
 * balrog_run_main(fn, argc, argv, envp, shards) calls fn(argc, argv, envp) on the main fiber
 * of a runtime that it creates on the calling thread (`shards` shards, 0: one per CPU) and
 * returns its value, the program's exit status, once fn and every fiber not detached have
 * finished. Everything run_main.hpp says holds: the main fiber's stack is as large as the
 * main thread's may grow, exit() ends the process from any fiber. Calls of the C face
 * (balrog_recv, balrog_PQexec...) made under it suspend the fiber instead of the thread.
 *
 * The program links balrog::runtime (a C++ library). Usable from C99 and later, and from C++.
 */
#ifndef BALROG_COMPAT_C_RUN_MAIN_H
#define BALROG_COMPAT_C_RUN_MAIN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

int balrog_run_main(int (*fn)(int argc, char** argv, char** envp), int argc, char** argv,
                    char** envp, size_t shards);

/* Whether the caller runs on a fiber of a balrog runtime (1) or on a plain thread (0). */
int balrog_on_fiber(void);

#ifdef __cplusplus
}
#endif

#endif /* BALROG_COMPAT_C_RUN_MAIN_H */
