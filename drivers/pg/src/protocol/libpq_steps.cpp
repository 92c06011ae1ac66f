#include "protocol/libpq_steps.hpp"

#include <dlfcn.h>

#include <cstring>

#include "balrog/await.hpp"
#include "balrog/io.hpp"
#include "balrog/offload.hpp"
#include "balrog/pg/error.hpp"
#include "protocol/conninfo_arrays.hpp"
#include "wait/readable_or_writable.hpp"
#include "wait/socket_registration.hpp"

namespace balrog::pg::detail {

namespace {

// libpq may replace the socket while connecting (one per host tried, SSL/GSS negotiation): read
// it again before every wait.
int socket_of(const PGconn* conn, const char* doing) {
  const int fd = PQsocket(conn);
  if (fd < 0) throw_connection_error(conn, std::string(doing) + ": the connection has no socket");
  return fd;
}

// The socket wait of a step: through the registration when the connection has one.
fd_awaiter socket_wait(const PGconn* conn, bool for_write, deadline until, const char* doing) {
  const int fd = socket_of(conn, doing);
  if (registered_fd* reg = socket_registration(conn)) {
    return for_write ? reg->writable(until) : reg->readable(until);
  }
  return for_write ? writable(fd, until) : readable(fd, until);
}

}  // namespace

void connection_deleter::operator()(PGconn* c) const noexcept {
  unregister_socket(c);
  PQfinish(c);
}

fd_awaiter socket_readable(const PGconn* conn, deadline until, const char* doing) {
  return socket_wait(conn, false, until, doing);
}

fd_awaiter socket_writable(const PGconn* conn, deadline until, const char* doing) {
  return socket_wait(conn, true, until, doing);
}

bool tls_input_pending(const PGconn* conn) noexcept {
  auto* c = const_cast<PGconn*>(conn);  // libpq's TLS getters take non-const pointers
  if (PQsslInUse(c) == 0) return false;
  // libpq loaded libssl when it negotiated TLS; SSL_pending is looked up there, so balrog
  // itself needs no OpenSSL headers or link.
  using pending_fn = int (*)(const void*);
  static const auto pending = reinterpret_cast<pending_fn>(dlsym(RTLD_DEFAULT, "SSL_pending"));
  void* ssl = PQsslStruct(c, "OpenSSL");
  return pending != nullptr && ssl != nullptr && pending(ssl) > 0;
}

task<void> wait_input(const PGconn* conn, deadline until, const char* doing) {
  if (tls_input_pending(conn)) co_return;
  co_await socket_readable(conn, until, doing);
}

std::string last_error(const PGconn* conn, const char* fallback) {
  const char* msg = conn != nullptr ? PQerrorMessage(conn) : nullptr;
  std::string s = msg != nullptr && *msg != '\0' ? msg : fallback;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void throw_connection_error(const PGconn* conn, const std::string& what) {
  error::fields f;
  f.sqlstate = "08006";  // connection_failure
  f.severity = "FATAL";
  f.primary = what + ": " + last_error(conn);
  throw connection_error(std::move(f));
}

task<connection_ptr> connect(std::vector<std::pair<std::string, std::string>> params,
                             deadline until) {
  // Blocking parts of libpq (name resolution, files) run on the offload pool. The vectors are
  // captured by value: an interrupted offload keeps running on its own copy.
  // Built in its own statement: GCC 12 bitwise-relocates a closure temporary with non-trivial
  // captures inside a co_await full-expression (see balrog/task.hpp).
  auto starting = on_fiber([params]() {
    return offload([params]() {
      return with_libpq_arrays(params, [](const char* const* k, const char* const* v) {
        return connection_ptr(PQconnectStartParams(k, v, 0));
      });
    });
  });
  connection_ptr conn = co_await std::move(starting);
  if (!conn) throw std::bad_alloc();
  if (PQstatus(conn.get()) == CONNECTION_BAD) throw_connection_error(conn.get(), "connect");
  co_await finish_connect(conn.get(), until);
  if (PQsetnonblocking(conn.get(), 1) != 0) throw_connection_error(conn.get(), "PQsetnonblocking");
  register_socket(conn.get());  // the socket is final now
  co_return conn;
}

task<void> finish_connect(PGconn* conn, deadline until, bool resetting) {
  for (;;) {
    const PostgresPollingStatusType s = resetting ? PQresetPoll(conn) : PQconnectPoll(conn);
    switch (s) {
      case PGRES_POLLING_OK:
        co_return;
      case PGRES_POLLING_READING:
        co_await wait_input(conn, until, "connect");  // OpenSSL may hold handshake input
        break;
      case PGRES_POLLING_WRITING:
        co_await writable(socket_of(conn, "connect"), until);
        break;
      case PGRES_POLLING_FAILED:
        throw_connection_error(conn, "connect");
      case PGRES_POLLING_ACTIVE:  // obsolete, never returned by libpq 15
        break;
    }
  }
}

task<void> flush(PGconn* conn, deadline until) {
  for (;;) {
    const int r = PQflush(conn);
    if (r == 0) co_return;
    if (r < 0) throw_connection_error(conn, "sending to the server");
    // Not all sent: wait until we can write or the server talks (it may wait for us to read
    // before it reads on: review C10), and read what came.
    co_await readable_or_writable(socket_of(conn, "flush"), until);
    if (PQconsumeInput(conn) == 0) throw_connection_error(conn, "reading from the server");
  }
}

task<result_ptr> next_result(PGconn* conn, deadline until) {
  for (;;) {
    // Read only when what libpq holds is not enough: PQconsumeInput first moves the unread
    // input to the front of its buffer, which per row of a streamed result is quadratic.
    if (PQisBusy(conn) == 0) co_return result_ptr(PQgetResult(conn));
    if (PQconsumeInput(conn) == 0) throw_connection_error(conn, "reading from the server");
    if (PQisBusy(conn) == 0) continue;
    co_await wait_input(conn, until, "waiting for a result");
  }
}

task<bool> read_input(PGconn* conn, deadline until) {
  try {
    co_await wait_input(conn, until, "waiting for the server");
  } catch (const timeout_error&) {
    if (until.expired()) co_return false;  // our own deadline, not a deadline_scope's
    throw;
  }
  if (PQconsumeInput(conn) == 0) throw_connection_error(conn, "reading from the server");
  co_return true;
}

task<void> put_copy_data(PGconn* conn, const char* data, int size, deadline until) {
  for (;;) {
    const int r = PQputCopyData(conn, data, size);
    if (r == 1) break;
    if (r < 0) throw_connection_error(conn, "COPY");
    co_await socket_writable(conn, until, "COPY");  // 0: libpq's buffer is full
  }
  co_await flush(conn, until);
}

task<void> put_copy_end(PGconn* conn, const char* error_message, deadline until) {
  for (;;) {
    const int r = PQputCopyEnd(conn, error_message);
    if (r == 1) break;
    if (r < 0) throw_connection_error(conn, "ending COPY");
    co_await socket_writable(conn, until, "ending COPY");
  }
  co_await flush(conn, until);
}

task<std::optional<std::string>> get_copy_data(PGconn* conn, deadline until) {
  for (;;) {
    char* buffer = nullptr;
    const int n = PQgetCopyData(conn, &buffer, 1);
    if (n > 0) {
      std::string row(buffer, static_cast<std::size_t>(n));
      PQfreemem(buffer);
      co_return row;
    }
    if (n == -1) co_return std::nullopt;  // done: the final result follows
    if (n == -2) throw_connection_error(conn, "COPY TO STDOUT");
    co_await wait_input(conn, until, "COPY TO STDOUT");
    if (PQconsumeInput(conn) == 0) throw_connection_error(conn, "reading from the server");
  }
}

task<std::string> request_cancel(PGconn* conn) {
  PGcancel* handle = PQgetCancel(conn);
  if (handle == nullptr) co_return "no cancel handle (the connection is not open)";
  // PQcancel opens a new connection and blocks: offload it. The handle is freed there.
  auto cancelling = on_fiber([handle] {
    return offload([handle] {
      char message[256] = {};
      const bool ok = PQcancel(handle, message, sizeof message) == 1;
      PQfreeCancel(handle);
      return ok ? std::string() : std::string(message);
    });
  });
  co_return co_await std::move(cancelling);
}

}  // namespace balrog::pg::detail
