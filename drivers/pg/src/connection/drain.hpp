// Reading and dropping what a statement still sends: the rest of a COPY TO STDOUT, or results.
//
// The loops wait only when libpq has nothing parsed, and then on the socket itself, never
// through a task per row: a chain of coroutine awaits that complete without suspending nests
// stack frames where the compiler does not turn symmetric transfer into tail calls (ASan
// builds), and millions of rows would overflow the fiber's stack.
#pragma once

#include <libpq-fe.h>

#include "balrog/task.hpp"

namespace balrog::pg::detail {

class connection_state;

// Until PQgetCopyData reports the COPY's end (its final result is then next).
task<void> drop_copy_out(PGconn* c);

enum class drained { done, copy_in, copy_out };
// Results until the end of the statement's results (a null result) or, with to_sync, until the
// PGRES_PIPELINE_SYNC that closes them. Stops at a COPY it finds (a statement whose start was
// interrupted may turn out to be one) and says which. Command tags go to note->note_command.
task<drained> drop_results(PGconn* c, bool to_sync, connection_state* note);

}  // namespace balrog::pg::detail
