#include "balrog/thread.hpp"

#include <cerrno>
#include <cstdio>
#include <exception>
#include <ostream>
#include <system_error>

namespace balrog {

std::ostream& operator<<(std::ostream& os, const thread::id& i) {
  if (i.is_fiber()) return os << "fiber-" << i.fiber().value();
  return os << i.os_thread();
}

void thread::join() {
  if (!joinable()) throw std::system_error(std::make_error_code(std::errc::invalid_argument));
  if (id_ == this_thread::get_id()) {
    throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur));
  }
  if (auto* f = std::get_if<fiber<void>>(&impl_)) {
    f->join();  // may throw cancelled / timeout_error: stays joinable
  } else {
    std::get<std::thread>(impl_).join();
  }
  impl_ = std::monostate{};
  id_ = id{};
}

void thread::detach() {
  if (!joinable()) throw std::system_error(std::make_error_code(std::errc::invalid_argument));
  if (auto* f = std::get_if<fiber<void>>(&impl_)) {
    f->detach();
  } else {
    std::get<std::thread>(impl_).detach();
  }
  impl_ = std::monostate{};
  id_ = id{};
}

namespace detail {

void thread_function_threw() noexcept {
  const thread::id self = this_thread::get_id();
  std::fputs("balrog::thread: an exception escaped the function of ", stderr);
  if (self.is_fiber()) {
    std::fprintf(stderr, "fiber-%llu", static_cast<unsigned long long>(self.fiber().value()));
  } else {
    std::fputs("an OS thread", stderr);
  }
  try {
    throw;
  } catch (const std::exception& e) {
    std::fprintf(stderr, ": %s\n", e.what());
  } catch (...) {
    std::fputs(": a non-std::exception\n", stderr);
  }
  std::terminate();
}

}  // namespace detail
}  // namespace balrog
