// balrog/detail/fd_wait.hpp — one context's wait for one fd as the reactor queues it, and an
// fd's registration as its owner keeps it.
#pragma once

#include <cstdint>
#include <optional>

#include "balrog/detail/wait_queue.hpp"

namespace balrog::detail {

// How a registered fd's readiness is learned (runtime/src/reactor/reactor.hpp says more).
enum class io_mode : std::uint8_t {
  // balrog makes the fd's system calls itself and tells the reactor when one would block (net
  // streams and listeners): edge-triggered, readiness remembered between waits.
  edge,
  // A library makes the system calls behind balrog's back (libpq): a wait asks the kernel for
  // the readiness of now (level-triggered), since nobody reports what the library consumed.
  level,
};

// An fd registered once with one thread's reactor (a persistent epoll registration), as its
// owner keeps it: a plain value, meaningful only to that reactor. The owner ends it (or the
// reactor learns it is stale) before the fd's number can mean another file.
struct io_registration {
  std::uint64_t reactor = 0;  // the serial of the reactor it is registered with; 0: none
  int fd = -1;
  std::uint32_t generation = 0;  // the reactor's generation of that fd when it was registered
  bool always_ready = false;     // epoll cannot watch the fd (a regular file): never wait
};

// revents bit of a wait that ended because its fd was closed (or replaced, or deregistered)
// while it waited: the caller must not touch the fd number again. Epoll never reports this
// value; it is poll(2)'s POLLNVAL.
inline constexpr std::uint32_t fd_closed_event = 0x020;

struct fd_wait : waiter {
  fd_wait(execution_context& context, int fd_, bool for_write_) noexcept
      : waiter(context), fd(fd_), for_write(for_write_) {}
  int fd;
  bool for_write;
  bool through_registration = false;  // queued through its owner's registration
  // What the reactor saw when it woke this wait: epoll's event bits (EPOLLIN, EPOLLOUT,
  // EPOLLERR, EPOLLHUP, EPOLLRDHUP: the same values as poll(2)'s), or fd_closed_event; 0 when it
  // woke for nothing in particular (look again).
  std::uint32_t revents = 0;
};

// A context (or a plain thread about to poll) waiting on an fd owner's own list.
struct owner_waiter : waiter {
  owner_waiter(execution_context& context, bool polls_) noexcept : waiter(context), polls(polls_) {}
  // True for a plain thread blocked in poll(2): the owner must shut the socket down to wake it.
  // False for a context parked in the wait protocol (a fiber, a coroutine): claimed with try_wake.
  bool polls;
};

class reactor;  // runtime/src/reactor/reactor.hpp

// The owner of an fd that keeps a registration for it and, maybe, a list of the waits on it so
// that it can wake them itself (net's owned_socket, registered_fd). The fd-wait path calls it
// after prepare_wait: publish (a context's wait: the owner's list and the reactor in one step,
// one lock), or add_waiter (a plain thread about to poll(2)); then remove_waiter.
class fd_owner {
 public:
  // Publishes `w` if the owner's fd is still `fd`; false (nothing published) when it changed
  // or was closed meanwhile: the caller must not wait on `fd`. A `w` that polls holds the
  // number until its remove_waiter: the owner's close() wakes it, then waits for it.
  virtual bool add_waiter(owner_waiter& w, int fd) noexcept = 0;
  virtual void remove_waiter(owner_waiter& w) noexcept = 0;
  // A context's whole publish step, under the owner's lock once: if the owner's fd is still
  // node.fd, queues `node` (and `writer`, if any: a read_or_write wait) on `r` (this thread's
  // reactor) through the owner's registration, registering the fd there first if needed, and
  // lists `w` where the owner's close() finds it. True: all of it published, wait. False:
  // nothing published (not listed, not queued), do not wait: node.revents (or
  // writer->revents) says why (ready, or fd_closed_event). Throws io_error like reactor::add,
  // with nothing published.
  virtual bool publish(owner_waiter& w, reactor& r, fd_wait& node, fd_wait* writer) = 0;

 protected:
  ~fd_owner() = default;
};

// What a wait for one fd waits for. read_or_write: whichever direction comes first (a client
// flushing to a server that may stop reading until its own output is read: libpq's
// pqSendSome, the Postgres driver's flush).
enum class fd_interest : std::uint8_t { read, write, read_or_write };

// One wait for one fd in progress, as an awaiter keeps it between await_suspend and
// await_resume (runtime/src/io/fd_waits.hpp drives it). It lives on the waiting fiber's
// stack (or in a coroutine frame), and the wake-up and unpublish steps read it again after the
// switch back, when its lines have usually left the cache (1,000 connections, one wait each):
// what a one-direction wait touches comes first and fits in about two lines (the node, the
// owner's node and the flags); the write node of a read_or_write wait comes last.
struct fd_wait_state {
  fd_wait_state(execution_context& context, int fd, bool for_write, fd_owner* owner_) noexcept
      : node(context, fd, for_write), owner(owner_), owner_node(context, /*polls=*/false) {}
  fd_wait_state(execution_context& context, int fd, fd_interest interest, fd_owner* owner_) noexcept
      : node(context, fd, interest == fd_interest::write),
        owner(owner_),
        owner_node(context, /*polls=*/false) {
    if (interest == fd_interest::read_or_write) {
      either = true;
      writer.emplace(context, fd, true);
    }
  }
  [[nodiscard]] fd_interest interest() const noexcept {
    if (either) return fd_interest::read_or_write;
    return node.for_write ? fd_interest::write : fd_interest::read;
  }
  fd_wait node;  // the wait (reads, for read_or_write)
  fd_owner* owner;
  owner_waiter owner_node;        // published on the owner's list while owner_listed
  bool owner_listed = false;      // owner_node is on the owner's list: remove_waiter it
  bool either = false;            // read_or_write: `writer` is engaged
  std::optional<fd_wait> writer;  // read_or_write: the write direction's wait
};

}  // namespace balrog::detail
