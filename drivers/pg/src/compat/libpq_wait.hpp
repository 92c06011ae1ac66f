// How the libpq compat layer waits on a fiber: for the connection's socket on the shard's
// reactor (through the runtime compat layer's wait_any, which reports cancellation and
// deadlines as errno values), and for libpq's blocking functions on the offload pool. Nothing
// here throws; a failed wait returns false with errno set (ECANCELED, ETIMEDOUT, EDEADLK...).
#pragma once

#include <libpq-fe.h>

#include <cerrno>
#include <cstdint>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "balrog/detail/uninterruptible.hpp"
#include "balrog/errors.hpp"
#include "balrog/offload.hpp"
#include "compat/wait_for_fd.hpp"

namespace balrog::compat::pq {

using compat::detail::place;

inline place where() noexcept { return compat::detail::current_place(); }
// A plain thread with no balrog scheduler: libpq's own functions are called.
inline bool sync_mode() noexcept { return where() == place::thread; }

// Waits until `fd` is readable and/or writable (errors and hang-ups count). A negative fd
// returns true at once: the next libpq call reports the broken connection. `revents`, if
// given, gets what the reactor saw (poll's bits; 0: nothing known).
bool wait_socket(int fd, bool read, bool write, std::uint32_t* revents = nullptr) noexcept;

// The next reads on `fd` reach end-of-file or an error (the peer shut down, perhaps after some
// last data): the caller then lets libpq's own blocking function read it, so that the error is
// reported exactly as libpq reports it. That function cannot block for long any more: every
// wait for input ends at once at end-of-file. `revents`: what the wait before saw; when it
// tells (input without a hang-up, or a hang-up), no system call is made to find out.
bool read_would_fail(int fd, std::uint32_t revents = 0) noexcept;

// Waits until PQgetResult(conn) can return without blocking: flushes output queued in
// non-blocking mode (reading meanwhile), then reads until PQisBusy is false. Also true when
// the connection broke (PQgetResult then reports it). False with errno when the wait failed.
bool wait_result_ready(PGconn* conn) noexcept;

// What reading the server's input came to (read_input).
enum class input : std::uint8_t {
  read,         // PQconsumeInput read what there was (perhaps nothing: look again)
  closed,       // end of file or an error is next: let libpq's blocking call read and report it
  broken,       // PQconsumeInput failed: the connection is bad and PQerrorMessage says why
  interrupted,  // the wait failed: errno says why
};
// Waits until the socket is readable (unless OpenSSL already holds decrypted input), then
// reads what is there into libpq.
input read_input(PGconn* conn) noexcept;

// Flushes output queued in non-blocking mode, waiting for the socket (and reading input,
// which libpq's PQflush does for us). True when all was sent or libpq reported an error
// (the caller's next libpq call reports it); false with errno when the wait failed.
bool flush_all(PGconn* conn) noexcept;

// The running fiber's context (only on a fiber).
balrog::detail::execution_context& current_context() noexcept;

// The application asked for non-blocking mode (not balrog on its behalf).
bool user_nonblocking(const PGconn* conn) noexcept;

// Switches a connection in blocking mode to non-blocking mode for one send (PQsetnonblocking,
// which clears the error state like libpq's PQexecStart/PQsendQueryStart when no command is
// queued). restore() switches back; when it cannot (the connection broke, or output is still
// queued after an interrupted wait), the connection is marked so that later compat calls
// still treat it as a blocking-mode connection and a successful PQreset restores it.
class nonblocking_for_send {
 public:
  explicit nonblocking_for_send(PGconn* conn) noexcept;
  nonblocking_for_send(const nonblocking_for_send&) = delete;
  nonblocking_for_send& operator=(const nonblocking_for_send&) = delete;
  ~nonblocking_for_send() { restore(); }
  // This scope switched the connection (or owns a switch an interrupted call left behind).
  [[nodiscard]] bool switched() const noexcept { return switched_; }
  // Switches back to blocking mode. False when libpq refused (the connection is broken, or
  // output is still queued): the connection stays marked as balrog's.
  bool restore() noexcept;

 private:
  PGconn* conn_;
  bool switched_ = false;
};

// After a call refused in non-blocking mode: switches back to blocking mode. That clears
// libpq's error state when no command is queued; then true: the caller makes the same call
// again in blocking mode, which finds the same problem before any I/O and reports it again.
// (A broken connection cannot be switched back; its message stays.)
bool report_again(PGconn* conn, nonblocking_for_send& nb) noexcept;

// Runs `fn` (libpq's blocking function, owning copies of what it needs) on the offload pool
// while the fiber waits, and returns its value. nullopt with errno (ECANCELED, ETIMEDOUT,
// EDEADLK in coroutine code, ENOMEM) when the wait ended without it; `fn` then runs on and its
// value is dropped (so it must clean up in its destructor: return owning handles). With
// `to_the_end`, cancellation and deadlines are ignored: for calls on objects the caller owns
// (a PGconn, a PGcancel), which must not be used after the compat call returns.
template <class F>
auto offload_call(F fn, bool to_the_end) noexcept -> std::optional<std::invoke_result_t<F&>> {
  if (where() != place::fiber) {
    errno = EDEADLK;
    return std::nullopt;
  }
  std::optional<balrog::detail::uninterruptible> shield;
  if (to_the_end) shield.emplace(current_context());
  try {
    return balrog::offload(std::move(fn));
  } catch (const balrog::cancelled&) {
    errno = ECANCELED;
  } catch (const balrog::timeout_error&) {
    errno = ETIMEDOUT;
  } catch (const std::bad_alloc&) {
    errno = ENOMEM;
  } catch (...) {
    errno = EIO;
  }
  return std::nullopt;
}

}  // namespace balrog::compat::pq
