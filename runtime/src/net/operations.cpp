#include "net/operations.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "balrog/errors.hpp"

namespace balrog::net::detail {

progress read_some_op::step(int fd) noexcept {
  const attempt<std::size_t> r = receive_once(fd, buffer);
  got = r.value;
  error = r.error;
  return r.state;
}

progress wait_readable_op::step(int fd) noexcept {
  std::byte one{};
  for (;;) {
    if (::recv(fd, &one, 1, MSG_PEEK) >= 0) return progress::done;
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return progress::want_read;
    if (err != EINTR) return progress::done;  // the read that follows reports it
  }
}

progress read_exact_op::step(int fd) noexcept {
  last_fd = fd;
  while (filled < buffer.size()) {
    const attempt<std::size_t> r = count_queued ? receive_once(fd, buffer.subspan(filled), left)
                                                : receive_once(fd, buffer.subspan(filled));
    if (r.state != progress::done) {
      error = r.error;
      return r.state;
    }
    if (r.value == 0) {
      ended = true;
      break;
    }
    filled += r.value;
  }
  return progress::done;
}

void read_exact_op::take() const {
  if (!ended) return;
  throw end_of_stream(describe_call(call, last_fd) + ": end of stream after " +
                      std::to_string(filled) + " of " + std::to_string(buffer.size()) + " bytes");
}

progress write_some_op::step(int fd) noexcept {
  const attempt<std::size_t> r = send_once(fd, buffer);
  sent = r.value;
  error = r.error;
  return r.state;
}

progress write_all_op::step(int fd) noexcept {
  while (sent < buffer.size()) {
    const attempt<std::size_t> r = send_once(fd, buffer.subspan(sent));
    if (r.state != progress::done) {
      error = r.error;
      return r.state;
    }
    sent += r.value;
  }
  return progress::done;
}

progress accept_op::step(int fd) noexcept {
  const attempt<int> r = accept_once(fd);
  accepted = r.state == progress::done ? r.value : -1;
  error = r.error;
  return r.state;
}

progress connect_op::step(int fd) noexcept {
  const attempt<bool> r = started ? finish_connect(fd) : start_connect(fd, *to);
  started = true;
  error = r.error;
  return r.state;
}

std::string connect_op::describe(int fd) const {
  std::string what = describe_call(call, fd) + " to " + to->to_string();
  // A Unix listener with a full backlog refuses non-blocking connects with EAGAIN and offers
  // no event to wait for; say so rather than leave "Resource temporarily unavailable" bare.
  if (error == EAGAIN && to->is_unix()) what += " (the listener's backlog is full)";
  return what;
}

int connect_op::open_for(const endpoint& to) {
  if (to.empty()) throw usage_error("balrog::net::connect: empty endpoint");
  const attempt<int> r = open_stream_socket(to.family());
  if (r.state != progress::done) {
    throw_errno(r.error, std::string(call) + ": socket() for " + to.to_string());
  }
  if (to.is_ip()) count_queued_bytes(r.value);  // read_exact learns when it emptied the queue
  return r.value;
}

connect_attempts::connect_attempts(std::string host, std::uint16_t port,
                                   std::vector<endpoint> candidates, deadline until)
    : candidates_(std::move(candidates)), own_first_(own_deadline_first(until)) {
  const bool v6 = host.find(':') != std::string::npos && host.front() != '[';  // not empty
  host_port_ = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

const endpoint* connect_attempts::next() noexcept {
  return next_ < candidates_.size() ? &candidates_[next_++] : nullptr;
}

void connect_attempts::failed(const io_error& e) { last_error_ = e; }

void connect_attempts::timed_out() const {
  if (!own_first_) throw;  // the enclosing scope's deadline: the plain timeout_error
  throw timeout_error("balrog::net::connect(" + host_port_ +
                      "): deadline exceeded while connecting to " +
                      candidates_[next_ - 1].to_string());
}

void connect_attempts::give_up() const {
  if (!last_error_) throw usage_error("balrog::net::connect(" + host_port_ + "): no address");
  std::string what = "balrog::net::connect(" + host_port_ + ")";
  if (candidates_.size() > 1) {
    what += ", last of " + std::to_string(candidates_.size()) + " addresses,";
  }
  what += " to " + candidates_.back().to_string();
  throw io_error(last_error_->code(), what);
}

}  // namespace balrog::net::detail
