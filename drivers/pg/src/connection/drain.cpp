#include "connection/drain.hpp"

#include "balrog/io.hpp"
#include "connection/connection_state.hpp"
#include "protocol/libpq_steps.hpp"

namespace balrog::pg::detail {

namespace {

// PQconsumeInput after waiting for input (OpenSSL may hold some the socket does not show).
task<void> read_more(PGconn* c, const char* doing) {
  if (!tls_input_pending(c)) co_await socket_readable(c, deadline::never(), doing);
  if (PQconsumeInput(c) == 0) throw_connection_error(c, "reading from the server");
}

}  // namespace

task<void> drop_copy_out(PGconn* c) {
  for (;;) {
    char* row = nullptr;
    const int n = PQgetCopyData(c, &row, 1);
    if (n > 0) {
      PQfreemem(row);
      continue;
    }
    if (n == -1) co_return;
    if (n == -2) throw_connection_error(c, "COPY TO STDOUT");
    co_await read_more(c, "COPY TO STDOUT");  // suspends: it waits on the socket
  }
}

task<drained> drop_results(PGconn* c, bool to_sync, connection_state* note) {
  for (;;) {
    if (PQisBusy(c) == 0) {
      result_ptr r(PQgetResult(c));
      if (!r) {
        if (!to_sync) co_return drained::done;
        continue;
      }
      switch (PQresultStatus(r.get())) {
        case PGRES_PIPELINE_SYNC:
          if (to_sync) co_return drained::done;
          break;
        case PGRES_COPY_IN:
          co_return drained::copy_in;
        case PGRES_COPY_OUT:
          co_return drained::copy_out;
        default:
          if (note != nullptr) note->note_command(r.get());
          break;
      }
      continue;
    }
    if (PQconsumeInput(c) == 0) throw_connection_error(c, "reading from the server");
    if (PQisBusy(c) == 0) continue;
    co_await read_more(c, "waiting for a result");
  }
}

}  // namespace balrog::pg::detail
