#include "compat/libpq_wait.hpp"

#include <libpq-events.h>
#include <poll.h>
#include <sys/socket.h>

#include "core/shard/scheduler.hpp"
#include "protocol/libpq_steps.hpp"

namespace balrog::compat::pq {

namespace {

// Marks connections balrog left in non-blocking mode (registered only on those, through
// libpq's event API, so the mark lives and dies with the PGconn). A successful PQreset
// switches them back to blocking mode.
int marker_tag = 0;

int marker_proc(PGEventId id, void* info, void* /*pass_through*/) {
  if (id == PGEVT_CONNRESET) {
    PGconn* conn = static_cast<PGEventConnReset*>(info)->conn;
    if (PQinstanceData(conn, marker_proc) != nullptr && PQsetnonblocking(conn, 0) == 0) {
      PQsetInstanceData(conn, marker_proc, nullptr);
    }
  }
  return 1;
}

bool marked(const PGconn* conn) noexcept { return PQinstanceData(conn, marker_proc) != nullptr; }

void mark(PGconn* conn) noexcept {
  if (marked(conn)) return;
  PQregisterEventProc(conn, marker_proc, "balrog-compat", nullptr);  // 0 if already there
  PQsetInstanceData(conn, marker_proc, &marker_tag);
}

void unmark(PGconn* conn) noexcept {
  if (marked(conn)) PQsetInstanceData(conn, marker_proc, nullptr);
}

}  // namespace

balrog::detail::execution_context& current_context() noexcept {
  return *balrog::detail::scheduler::current()->running();
}

bool wait_socket(int fd, bool read, bool write) noexcept {
  if (fd < 0) return true;
  const short events = static_cast<short>((read ? POLLIN : 0) | (write ? POLLOUT : 0));
  const pollfd interest{fd, events, 0};
  return compat::detail::wait_any({&interest, 1}, deadline::never()) !=
         compat::detail::wait_status::failed;
}

bool read_would_fail(int fd) noexcept {
  // The peer shut its side down (POLLRDHUP, even with data still unread: over TLS that data is
  // the close_notify alert, which reads as end of file), or the socket has an error.
  const short revents = compat::detail::poll_now(fd, POLLIN | POLLRDHUP);
  if ((revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0) return true;
  const int saved = errno;
  char byte = 0;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  const bool fails = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  errno = saved;
  return fails;
}

bool flush_all(PGconn* conn) noexcept {
  // In blocking mode libpq never leaves output queued (and PQflush would block).
  if (PQisnonblocking(conn) == 0) return true;
  for (;;) {
    // PQflush also reads what the server sent meanwhile when it cannot send everything.
    if (PQflush(conn) <= 0) return true;
    if (!wait_socket(::PQsocket(conn), true, true)) return false;
  }
}

input read_input(PGconn* conn) noexcept {
  const int fd = ::PQsocket(conn);
  if (fd < 0) return input::closed;
  if (!pg::detail::tls_input_pending(conn)) {
    if (!wait_socket(fd, true, false)) return input::interrupted;
    if (read_would_fail(fd)) return input::closed;
  }
  return ::PQconsumeInput(conn) != 0 ? input::read : input::broken;
}

bool wait_result_ready(PGconn* conn) noexcept {
  if (PQisnonblocking(conn) == 0 && PQpipelineStatus(conn) != PQ_PIPELINE_OFF) {
    // In pipeline mode libpq keeps output queued even in blocking mode (below its flush
    // threshold, e.g. after PQsendFlushRequest), and its PQgetResult sends it first.
    nonblocking_for_send nb(conn);
    if (!flush_all(conn)) return false;
    nb.restore();
  } else if (!flush_all(conn)) {
    return false;
  }
  for (;;) {
    if (::PQisBusy(conn) == 0) return true;
    switch (read_input(conn)) {
      case input::read:
        break;
      case input::closed:  // PQgetResult reads the end of file and reports it its own way
      case input::broken:  // PQisBusy is false now: PQgetResult reports the error at once
        return true;
      case input::interrupted:
        return false;
    }
  }
}

bool user_nonblocking(const PGconn* conn) noexcept {
  return PQisnonblocking(conn) != 0 && !marked(conn);
}

nonblocking_for_send::nonblocking_for_send(PGconn* conn) noexcept : conn_(conn) {
  if (PQisnonblocking(conn) != 0) {
    switched_ = marked(conn);  // left so by an interrupted compat call: ours to restore
    return;
  }
  switched_ = PQsetnonblocking(conn, 1) == 0;
}

bool nonblocking_for_send::restore() noexcept {
  if (!switched_) return true;
  switched_ = false;
  if (PQsetnonblocking(conn_, 0) == 0) {
    unmark(conn_);
    return true;
  }
  mark(conn_);
  return false;
}

bool report_again(PGconn* conn, nonblocking_for_send& nb) noexcept {
  if (!nb.switched() || !nb.restore()) return false;
  return *::PQerrorMessage(conn) == '\0';
}

}  // namespace balrog::compat::pq
