// balrog/net/listener.hpp — a listening TCP or Unix stream socket.
//
//   auto l = balrog::net::listen(balrog::net::endpoint::loopback(0));  // port 0: any free port
//   std::uint16_t port = l.local_endpoint().port();
//   for (;;) {
//     balrog::spawn([s = l.accept()]() mutable { serve(s); }).detach();
//   }
//
// A listener owns one listening socket (non-blocking underneath). accept() is blocking-style
// like every call of balrog::net: on a fiber it suspends the fiber, on a plain thread it blocks
// in poll(2). Several fibers may call accept() on the same listener at once: each waiting
// fiber gets its own connection, in the order they started waiting.
//
// RAII and move-only; the destructor closes. Fibers (or plain threads) may share a listener,
// and any of them may close() it: calls parked in accept() then throw io_error (EBADF,
// "listener is closed"), with the same guarantees as stream.hpp describes. Destroying or moving
// it while someone is inside accept() is a use-after-free: close() it instead. To accept on
// several shards, give each shard its own listener on the same port (listen_options::
// reuse_port): fibers never migrate, so a fiber accepts on its own shard's listener.
//
// Deadlines, cancellation and error messages follow stream.hpp: a connection already queued is
// accepted even with a past deadline; the call's own deadline throws timeout_error naming the
// call and fd.
//
// Coroutine code accepts with co_await l.async_accept(): the same call, suspending the
// coroutine instead of a fiber (see "Coroutine forms" in stream.hpp). Coroutines and fibers may
// wait on one listener together; each gets its own connection, and close() wakes them all.
//
//   balrog::task<void> serve(balrog::net::listener& l) {
//     for (;;) {
//       balrog::net::stream s = co_await l.async_accept();
//       balrog::spawn_task(handle(std::move(s))).detach();  // handle(stream) -> task<void>
//     }
//   }
#pragma once

#include <sys/types.h>

#include <string>

#include "balrog/deadline.hpp"
#include "balrog/net/detail/owned_socket.hpp"
#include "balrog/net/endpoint.hpp"
#include "balrog/net/stream.hpp"
#include "balrog/task.hpp"

namespace balrog::net {

struct listen_options {
  // Connections the kernel completes and queues for accept() (listen(2)'s backlog; the kernel
  // caps it at net.core.somaxconn). Costs kernel memory only for connections actually queued.
  // When the queue is full, a TCP client's handshake stalls (its SYN is dropped and re-sent
  // after about a second) and a Unix client's connect fails with EAGAIN. 0 is legal and still
  // queues one connection. Negative values throw usage_error.
  int backlog = 1024;

  // SO_REUSEADDR (TCP only): lets a restarted server bind its port while connections of the
  // previous run linger in TIME_WAIT. Costs nothing, and does not let two live listeners share
  // a port. false: bind fails with EADDRINUSE for up to a minute after a restart.
  bool reuse_address = true;

  // SO_REUSEPORT (TCP only): lets several listeners (one per shard, thread or process of the
  // same user) bind the same address; the kernel spreads new connections among them. Off by
  // default because with it on, a second server started by mistake silently shares the port
  // instead of failing with EADDRINUSE.
  bool reuse_port = false;

  // Unix paths only: close() removes the socket file, if the file is still the one this
  // listener created (same device and inode). Costs a stat(2) at close. false: the file stays,
  // and the next listen() on the path replaces it only if it is stale (see listen()).
  bool unlink_on_close = true;
};

class listener {
 public:
  // A closed listener (a placeholder to move into).
  listener() noexcept = default;

  listener(listener&& other) noexcept;
  listener& operator=(listener&& other) noexcept;  // closes what it held first
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;
  ~listener() { close(); }

  // Takes the next connection, waiting until one arrives. The stream is non-blocking
  // underneath and close-on-exec. Connections that were reset while queued are skipped.
  // Throws io_error (EMFILE/ENFILE when out of fds: the connection stays queued; "listener is
  // closed"), timeout_error, cancelled.
  stream accept(deadline until = deadline::never());
  // The coroutine form of accept(): co_await it. Same behaviour and exceptions. The listener
  // must stay alive, and where it is, until the co_await completes; close() it to stop the
  // coroutines waiting in it.
  [[nodiscard]] task<stream> async_accept(deadline until = deadline::never());

  // The bound address: with port 0, the port the kernel chose. Throws io_error when closed.
  [[nodiscard]] endpoint local_endpoint() const;

  // Closes the socket (and, for a Unix path, removes the file: listen_options::unlink_on_close)
  // and wakes the calls waiting in accept() (they throw io_error EBADF).
  // Connections queued but not accepted are reset. Idempotent; never throws.
  void close() noexcept;

  [[nodiscard]] bool is_open() const noexcept { return socket_.is_open(); }
  // The fd, or -1 when closed. Still owned by the listener.
  [[nodiscard]] int native_handle() const noexcept { return socket_.fd(); }

 private:
  friend listener listen(const endpoint& at, listen_options options);

  detail::owned_socket socket_;
  bool counts_queued_ = false;  // TCP: TCP_INQ is on, and accepted streams inherit it
  // The socket file to remove at close (empty: none), and which file it was.
  std::string unlink_path_;
  dev_t unlink_device_ = 0;
  ino_t unlink_inode_ = 0;
};

// Creates a socket, binds it to `at` and listens. Port 0 picks a free port (read it with
// local_endpoint()). Throws io_error naming the endpoint (EADDRINUSE, EACCES...), usage_error
// for a negative backlog or an empty endpoint.
//
// Unix paths: if the path already exists, it is replaced only when it is a socket file that
// nobody listens on any more — a connect to it is refused, as it is after a server died without
// removing its file. A live listener's path, or any file that is not a socket, fails with
// EADDRINUSE and is left alone. Abstract names ("@name") have no file and vanish with the
// socket.
listener listen(const endpoint& at, listen_options options = {});

}  // namespace balrog::net
