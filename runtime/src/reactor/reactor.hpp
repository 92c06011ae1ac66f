// The reactor of one scheduler: epoll, plus an eventfd other threads use to interrupt it.
//
// One entry per fd number, with a generation that changes whenever the number stops meaning
// the file the entry described (closed, replaced by dup2, deregistered). Epoll events carry
// (generation, fd), so an event of a file that is gone is recognised and dropped, and a waiter
// queued for a file that is gone is woken with fd_closed_event instead of being handed the
// readiness of whatever file reuses the number. An entry is armed in one of three ways:
//
//  - oneshot (fds balrog does not own: the compat layer's, wait_readable on any fd):
//    level-triggered with EPOLLONESHOT, armed per wait. The user closes these behind our back;
//    a MOD failing with ENOENT, or an ADD succeeding where we believed a registration, proves
//    the number now means another file: the entry is retired (new generation, old waiters
//    woken as closed) and the new file armed. Each event wakes one waiter per direction and
//    re-arms for the rest.
//  - edge (fds the runtime owns and reads itself: net streams and listeners): registered once,
//    EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET. Readiness is remembered per direction (tokio's
//    ScheduledIo): an event sets it, the owner clears it when a call would block, checked
//    against the event tick, so an event that arrived meanwhile is not lost. The owner makes
//    no attempt it knows would find EAGAIN, and a wait costs no system call. An event wakes
//    every waiter of its direction. A direction hung up (the peer's FIN for reads: EPOLLRDHUP;
//    EPOLLHUP, EPOLLERR for both) stays ready for good, whatever the owner clears: the bytes
//    and the FIN often come in one event, and a read that drains the bytes leaves the end of
//    stream to read with no edge to come for it (tokio keeps READ_CLOSED the same way).
//  - level (fds a library owns and reads behind us: libpq's socket, through registered_fd):
//    registered once, level-triggered, so a wait sees the readiness of now whatever the
//    library consumed. A direction nobody waits for is dropped from the registration when it
//    is reported a second time unclaimed (a woken waiter that has not run yet gets one report
//    of grace), so an idle readable socket does not keep the loop awake.
//
// An owner deregisters before it closes its fd (a close on another thread cannot reach this
// reactor: the entry then goes stale, which the next ADD on the number detects). A plain wait
// on an fd some owner registered checks with an ADD that the registration is still the fd's
// (EEXIST) and then waits through it.
//
// Regular files (EPERM from epoll) are always ready. Timeouts use epoll_pwait2 (nanoseconds),
// falling back to epoll_wait rounded up to milliseconds.
#pragma once

#include <sys/epoll.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/detail/fd_wait.hpp"
#include "balrog/detail/wait_queue.hpp"
#include "reactor/event_loop.hpp"

namespace balrog::detail {

// What the compat layer asks about an fd before emulating a blocking call (compat/fd_facts),
// remembered in the fd's entry for the entry's generation. Only trusted right after an arm of
// the fd succeeded, which proves the number still means the same file; the compat fcntl,
// ioctl and setsockopt forget them.
struct fd_facts {
  enum : std::uint8_t {
    nonblocking_known = 1,
    stream_known = 2,
    rcvtimeo_known = 4,
    sndtimeo_known = 8
  };
  std::uint8_t known = 0;
  bool nonblocking = false;
  bool stream = false;
  clock::duration rcvtimeo{};  // zero: none
  clock::duration sndtimeo{};
};

class reactor final : public event_loop {
 public:
  reactor();
  ~reactor();

  // --- the seam (event_loop.hpp): the scheduler's loop ---------------------------------------
  std::size_t poll(clock::duration timeout) override;
  void interrupt() noexcept override;
  [[nodiscard]] std::size_t waiters() const noexcept override { return waiters_; }

  [[nodiscard]] int native_handle() const noexcept { return epoll_fd_; }
  // Unique in the process (reactors come and go with schedulers); never 0.
  [[nodiscard]] std::uint64_t serial() const noexcept { return serial_; }

  // --- the host's wake-up pipe (balrog::event_loop::wakeup_fd) -------------------------------
  // The write end of a pipe in the epoll set, made on first call: a byte written to it ends a
  // poll (as interrupt() does) and is read by that poll, then written on to `forward_wakeups`'
  // fd if one is set. Throws io_error when the pipe cannot be made.
  int wakeup_fd();
  // Where the bytes read from the pipe go (-1: nowhere). Non-blocking writes; dropped when
  // the fd is full or bad.
  void forward_wakeups(int fd) noexcept { wakeup_forward_fd_ = fd; }

  // --- waits (the fd-wait path, fd_waits.hpp; this reactor's thread only) --------------------
  enum class queued : std::uint8_t {
    waiting,  // queued: the wait goes on until the reactor wakes it
    ready,    // not queued, do not wait: w.revents says what is known (readiness, or closed)
  };
  // Queues `w`, arming its fd as the fd's entry needs. With `reg`, a registration of its owner:
  // waits through it when it is registered here and still current, else registers it here
  // first (in `mode`). Throws io_error: EBADF for a bad fd, what epoll_ctl says otherwise.
  queued add(fd_wait& w);
  queued add(fd_wait& w, io_registration& reg, io_mode mode);
  // Both nodes of a wait through `reg` (`writer`: a read_or_write wait's write node, or null),
  // or neither: waiting when all are queued; ready, none queued, when one needs no wait.
  queued add(fd_wait& node, fd_wait* writer, io_registration& reg, io_mode mode);
  // Dequeues a wait that is over (woken, timed out, cancelled); idempotent.
  void remove(fd_wait& w) noexcept;

  // --- registrations (their owners, on this thread) -------------------------------------------
  // The registration is registered here and still describes its fd.
  [[nodiscard]] bool current(const io_registration& reg) const noexcept;
  // Ends a registration made here (nothing for one made elsewhere: that entry goes stale).
  // `still_open`: the fd stays open (so it is removed from epoll); else its owner is about to
  // close it. Waiters still queued on the fd are woken.
  void deregister(io_registration& reg, bool still_open) noexcept;

  // Edge registrations: whether a direction may be ready (false only when a call in that
  // direction would block and no event came since). A registration that is not current here
  // may always be ready: try, and learn.
  [[nodiscard]] bool ready(const io_registration& reg, bool for_write) const noexcept;
  // A call in that direction would block (or drained the socket's buffer): forget its
  // readiness, unless an event came after `since` (the tick() read before the call).
  void clear_ready(const io_registration& reg, bool for_write, std::uint64_t since) noexcept;
  // Advanced by every poll() that brings events.
  [[nodiscard]] std::uint64_t tick() const noexcept { return tick_; }

  // In a forked child that abandons this reactor: closes the child's copies of the epoll fd and
  // the eventfd (the parent's stay open); the object must not be used afterwards.
  void close_after_fork() noexcept;

  // --- what compat sees (compat/posix_net: close, dup2, dup3, fcntl, ioctl, setsockopt) -------
  // This thread is about to close `fd` or make it another file's (dup2/dup3): its waiters are
  // woken as closed, and the number starts a new generation.
  void closing(int fd) noexcept;
  // The fd's remembered facts, for the current generation (reset when it changed). Null for a
  // number the reactor never armed.
  [[nodiscard]] fd_facts* facts(int fd) noexcept;
  // Status flags or socket options of `fd` changed: its facts must be asked again.
  void forget_facts(int fd) noexcept;

 private:
  enum class arming : std::uint8_t {
    none,     // not in the epoll set as far as we know
    oneshot,  // per-wait EPOLLONESHOT arms (fds we do not own)
    edge,     // a persistent edge-triggered registration
    level,    // a persistent level-triggered registration
  };
  static constexpr std::uint8_t read_bit = 1;
  static constexpr std::uint8_t write_bit = 2;

  // One cache line: poll() touches an entry per event, and with many fds (TCP echo: 1,000)
  // each is cold; at 96 bytes (the compat facts inline) every other entry straddled two lines.
  struct alignas(64) fd_entry {
    wait_queue readers;  // fd_waits only
    wait_queue writers;
    std::uint32_t generation = 1;
    arming mode = arming::none;
    std::uint32_t armed = 0;      // oneshot: events armed now; level: interest registered now
    bool level_parked = false;    // level: disabled by EPOLLONESHOT until a wait enables it again
    std::uint8_t ready = 0;       // edge: readiness known (read_bit, write_bit)
    std::uint8_t closed = 0;      // edge: hung up in that direction: ready for good
    std::uint8_t handed = 0;      // level: a waiter was woken, its readiness not yet consumed
    std::uint64_t read_tick = 0;  // edge: when the readiness was learned
    std::uint64_t write_tick = 0;
  };
  static_assert(sizeof(fd_entry) == 64, "an fd entry is one cache line");
  // The compat layer's facts, per fd number, beside the entries (read only by compat calls).
  struct facts_slot {
    std::uint32_t generation = 0;  // the entry's generation they describe
    fd_facts facts;
  };

  fd_entry& entry(int fd);
  fd_entry* find(int fd) noexcept;
  [[nodiscard]] bool registered_here(const io_registration& reg, const fd_entry& e) const noexcept;
  // epoll_ctl with the event data (generation, fd); returns errno, 0 on success.
  int control(int op, int fd, std::uint32_t events, std::uint32_t generation) noexcept;
  // Arms a plain (ownerless) wait for `want` on `fd`. False if epoll cannot watch the fd.
  bool arm_plain(int fd, fd_entry& e, std::uint32_t want);
  // Persistent registration of `fd` in `mode`; fills `reg`. False: epoll cannot watch it.
  bool register_fd(int fd, fd_entry& e, io_mode mode, io_registration& reg);
  // Makes sure a level registration reports `want`. False if the fd is gone (entry retired).
  bool enable_level(int fd, fd_entry& e, std::uint32_t want);
  // Waits through a live registration (plain or not); `verify`: for a plain wait on an edge
  // registration, confirm remembered readiness with poll(2) (nobody clears it for it).
  queued join(fd_wait& w, fd_entry& e, bool verify);
  void enqueue(fd_wait& w, fd_entry& e) noexcept;
  // The number no longer means the entry's file: new generation, nothing armed, every waiter
  // woken with `revents`.
  void retire(fd_entry& e, std::uint32_t revents) noexcept;
  // Wakes waiters of `q` with `revents`: the first claimable one, or all.
  std::size_t wake(wait_queue& q, std::uint32_t revents, bool all) noexcept;
  std::size_t dispatch(const epoll_event& ev);
  std::size_t dispatch_oneshot(int fd, fd_entry& e, std::uint32_t events);
  std::size_t dispatch_level(int fd, fd_entry& e, std::uint32_t events);
  void drain_interrupts() noexcept;
  void drain_wakeups() noexcept;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int wakeup_read_fd_ = -1;  // the host's wake-up pipe, once made (wakeup_fd)
  int wakeup_write_fd_ = -1;
  int wakeup_forward_fd_ = -1;
  std::uint64_t serial_;
  std::uint64_t tick_ = 1;  // advanced by every poll() that brought events
  std::vector<fd_entry> fds_;
  std::vector<facts_slot> facts_;  // as long as fds_
  std::size_t waiters_ = 0;
  std::vector<epoll_event> events_;
};

}  // namespace balrog::detail
