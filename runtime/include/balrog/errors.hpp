// balrog/errors.hpp — the exceptions thrown by balrog's own API.
//
// Every error balrog throws derives from balrog::error, so `catch (const balrog::error&)`
// catches them all. The compat API (balrog::compat::*) never throws these: it keeps the
// original library's conventions (-1 + errno, NULL PGresult*, CURLcode).
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace balrog {

// Base class of everything balrog throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A deadline passed: an enclosing deadline_scope, or a deadline given to the call itself
// (wait_readable(fd, deadline), net::connect(..., deadline), ...). Functions modelled on the
// standard library's try_*_for/try_*_until/wait_for report their *own* timeout through their
// return value, as the standard does, and throw this only for an enclosing deadline_scope.
class timeout_error : public error {
 public:
  timeout_error() : error("balrog: deadline exceeded") {}
  using error::error;
};

// The fiber was cancelled (fiber::cancel()). Thrown from the suspension point the fiber was
// parked in, or from the next one it reaches. Let it propagate: the fiber then ends and
// join() rethrows it.
class cancelled : public error {
 public:
  cancelled() : error("balrog: fiber cancelled") {}
};

// An operating-system call failed. code() carries errno; what() names the call and the fd.
class io_error : public error {
 public:
  io_error(std::error_code code, const std::string& what_arg)
      : error(what_arg + ": " + code.message()), code_(code) {}
  [[nodiscard]] const std::error_code& code() const noexcept { return code_; }

 protected:
  // For subclasses whose message says it all (code().message() is not appended).
  struct verbatim_t {};
  io_error(verbatim_t /*tag*/, std::error_code code, const std::string& what_arg)
      : error(what_arg), code_(code) {}

 private:
  std::error_code code_;
};

// A stream ended before the requested number of bytes arrived (read_exact). code() is
// ECONNABORTED, for code that only looks at errno values; what() says how many bytes came.
class end_of_stream : public io_error {
 public:
  explicit end_of_stream(const std::string& what_arg)
      : io_error(verbatim_t{}, std::make_error_code(std::errc::connection_aborted), what_arg) {}
};

// The API was used in a way it does not support: spawn outside balrog::run, join of a
// detached fiber, a negative semaphore count, a recursive lock of a non-recursive mutex...
class usage_error : public error {
 public:
  using error::error;
};

// push() on a closed channel.
class channel_closed : public error {
 public:
  channel_closed() : error("balrog: push on a closed channel") {}
};

// Throws io_error for the current errno. `what` names the call, e.g. "connect(fd 7)".
[[noreturn]] void throw_errno(const std::string& what);
[[noreturn]] void throw_errno(int err, const std::string& what);

}  // namespace balrog
