/* A libpq session written in plain C (session.c), compiled twice: as it is (session_plain,
 * libpq's blocking calls) and rewritten to balrog's C face (session_balrog). Each writes a
 * transcript of what it saw into `out` and returns 0, or -1 when it could not connect. */
#ifndef BALROG_TEST_PG_C_SESSION_H
#define BALROG_TEST_PG_C_SESSION_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

int session_plain(const char* conninfo, int id, char* out, size_t out_size);
int session_balrog(const char* conninfo, int id, char* out, size_t out_size);

#ifdef __cplusplus
}
#endif

#endif
