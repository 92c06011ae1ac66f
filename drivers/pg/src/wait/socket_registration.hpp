// The connection's socket, registered once with the reactor (balrog::registered_fd) and kept
// with the PGconn itself — as the instance data of a libpq event procedure — so that every
// step, which only has the PGconn*, reaches it. A wait through it costs no epoll_ctl (a plain
// balrog::readable(fd) arms the fd each time).
//
// Only the driver's own connections have one (attached once connected: libpq replaces its
// socket while PQconnectPoll tries hosts and negotiates TLS/GSS); the compat layer's PGconns
// wait plainly. A changed PQsocket() is followed (the registration moves to the new socket),
// and the registration ends before PQfinish closes the socket (connection_deleter), or at the
// latest when libpq destroys the PGconn (PGEVT_CONNDESTROY).
#pragma once

#include <libpq-events.h>
#include <libpq-fe.h>

#include <new>

#include "balrog/registered_fd.hpp"

namespace balrog::pg::detail {

// libpq's event procedure owning the registration.
inline int socket_registration_proc(PGEventId id, void* info, void* /*pass_through*/) {
  if (id == PGEVT_CONNDESTROY) {
    PGconn* conn = static_cast<PGEventConnDestroy*>(info)->conn;
    delete static_cast<registered_fd*>(PQinstanceData(conn, socket_registration_proc));
  }
  return 1;
}

// The registration of conn's socket, following PQsocket(); null when conn has none.
inline registered_fd* socket_registration(const PGconn* conn) noexcept {
  auto* reg = static_cast<registered_fd*>(PQinstanceData(conn, socket_registration_proc));
  if (reg != nullptr) {
    if (const int fd = PQsocket(conn); fd != reg->fd()) reg->reset(fd);
  }
  return reg;
}

// Gives `conn` (connected: its socket is final) a registration. Without memory for it, or if
// libpq refuses the event procedure, the connection simply waits plainly.
inline void register_socket(PGconn* conn) noexcept {
  if (PQinstanceData(conn, socket_registration_proc) != nullptr) return;
  if (PQregisterEventProc(conn, socket_registration_proc, "balrog-socket", nullptr) == 0) return;
  auto* reg = new (std::nothrow) registered_fd(PQsocket(conn));
  if (reg != nullptr && PQsetInstanceData(conn, socket_registration_proc, reg) == 0) delete reg;
}

// Ends the registration while the socket is still open (before PQfinish).
inline void unregister_socket(PGconn* conn) noexcept {
  if (auto* reg = static_cast<registered_fd*>(PQinstanceData(conn, socket_registration_proc))) {
    reg->reset();
  }
}

}  // namespace balrog::pg::detail
