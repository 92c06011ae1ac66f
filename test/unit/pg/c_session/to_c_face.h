/* Only in builds without balrog-gen (the asan and tsan presets): stands in for balrog-gen's
 * rewrite of session.c, which every build with the tool runs for real (balrog_wrap,
 * test/unit/CMakeLists.txt). Every call of session.c that waits on the server goes to the C face
 * of balrog's libpq compat layer (balrog/pg/compat/libpq_c.h), named balrog_<libpq name>.
 * Force-included (-include) before session.c, which is otherwise compiled unchanged. */
#ifndef BALROG_TEST_PG_TO_C_FACE_H
#define BALROG_TEST_PG_TO_C_FACE_H

#include <balrog/pg/compat/libpq_c.h>
#include <libpq-fe.h>

#define PQconnectdb balrog_PQconnectdb
#define PQsetClientEncoding balrog_PQsetClientEncoding
#define PQexec balrog_PQexec
#define PQexecParams balrog_PQexecParams
#define PQprepare balrog_PQprepare
#define PQexecPrepared balrog_PQexecPrepared
#define PQgetResult balrog_PQgetResult
#define PQputCopyData balrog_PQputCopyData
#define PQputCopyEnd balrog_PQputCopyEnd
#define PQgetCopyData balrog_PQgetCopyData
#define PQsendQuery balrog_PQsendQuery
#define PQsendQueryParams balrog_PQsendQueryParams
#define PQpipelineSync balrog_PQpipelineSync
#define lo_create balrog_lo_create
#define lo_open balrog_lo_open
#define lo_write balrog_lo_write
#define lo_lseek balrog_lo_lseek
#define lo_read balrog_lo_read
#define lo_close balrog_lo_close
#define lo_unlink balrog_lo_unlink

#endif
