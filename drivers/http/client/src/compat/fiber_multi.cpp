#include "compat/fiber_multi.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <new>

#include "compat/wait_for_fd.hpp"
#include "curl/handles.hpp"

namespace balrog::http::detail {

namespace {

// Idle multi handles kept per thread, each with the connections it caches; the oldest go first.
constexpr std::size_t idle_limit = 16;

std::vector<std::unique_ptr<fiber_multi>>& idle_multis() {
  thread_local std::vector<std::unique_ptr<fiber_multi>> idle;
  return idle;
}

// The multi handle `easy` used last if it is idle, else the most recently used one, else new.
std::unique_ptr<fiber_multi> take(CURL* easy) {
  auto& idle = idle_multis();
  auto it = std::find_if(idle.rbegin(), idle.rend(),
                         [easy](const auto& m) { return m->last_easy == easy; });
  if (it == idle.rend() && !idle.empty()) it = idle.rbegin();
  if (it == idle.rend()) return std::make_unique<fiber_multi>();
  std::unique_ptr<fiber_multi> m = std::move(*it);
  idle.erase(std::next(it).base());
  return m;
}

void give_back(std::unique_ptr<fiber_multi> m) noexcept {
  auto& idle = idle_multis();
  try {
    if (idle.size() >= idle_limit) idle.erase(idle.begin());
    idle.push_back(std::move(m));
  } catch (...) {  // out of memory: let it go (its connections close)
  }
}

int curl_mask(short revents) noexcept {
  int mask = 0;
  if ((revents & (POLLIN | POLLPRI | POLLRDHUP)) != 0) mask |= CURL_CSELECT_IN;
  if ((revents & POLLOUT) != 0) mask |= CURL_CSELECT_OUT;
  if ((revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) mask |= CURL_CSELECT_ERR;
  return mask;
}

// What a failed wait (errno) means for curl_easy_perform.
CURLcode interrupted(int err) noexcept {
  switch (err) {
    case ECANCELED:
      return CURLE_ABORTED_BY_CALLBACK;
    case ETIMEDOUT:
      return CURLE_OPERATION_TIMEDOUT;
    case ENOMEM:
      return CURLE_OUT_OF_MEMORY;
    default:  // EDEADLK (not on a fiber after all), or the reactor refused an fd
      return CURLE_RECURSIVE_API_CALL;
  }
}

}  // namespace

CURLcode fiber_multi::run(CURL* easy) noexcept {
  try {
    std::unique_ptr<fiber_multi> m = take(easy);
    if (!m->valid()) return CURLE_OUT_OF_MEMORY;
    const CURLcode result = m->transfer(easy);
    m->last_easy = easy;
    give_back(std::move(m));
    return result;
  } catch (const std::bad_alloc&) {
    return CURLE_OUT_OF_MEMORY;
  }
}

fiber_multi::fiber_multi() {
  ensure_curl_initialized();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) return;
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &fiber_multi::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &fiber_multi::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

fiber_multi::~fiber_multi() { curl_multi_cleanup(multi_); }

CURLcode fiber_multi::transfer(CURL* easy) noexcept {
  timer_ = deadline::never();
  timer_due_ = false;
  const CURLMcode added = curl_multi_add_handle(multi_, easy);
  if (added != CURLM_OK) {
    // libcurl's curl_easy_perform refuses a handle that is in a multi handle the same way.
    return added == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
  }
  CURLcode result = CURLE_OK;
  int err = 0;
  std::vector<pollfd> ready;
  for (bool done = false; !done;) {
    if (timer_due_ || timer_.expired()) {
      timer_due_ = false;
      timer_ = deadline::never();
      act(CURL_SOCKET_TIMEOUT, 0);
    }
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg == CURLMSG_DONE && m->easy_handle == easy) {
        result = m->data.result;
        done = true;
      }
    }
    if (done || timer_due_) continue;
    // At least once a second libcurl gets a look, as in its own curl_easy_perform loop (a
    // transfer with nothing to wait for: paused, or between states).
    const compat::detail::wait_status s =
        compat::detail::wait_any(sockets_, earliest(timer_, deadline(std::chrono::seconds(1))));
    if (s == compat::detail::wait_status::failed) {
      err = errno;
      result = interrupted(err);
      break;
    }
    if (s == compat::detail::wait_status::timed_out) timer_due_ = true;
    if (sockets_.empty()) continue;
    ready = sockets_;  // the callbacks change sockets_ while we go through the ready ones
    int n = 0;
    do {
      n = ::poll(ready.data(), ready.size(), 0);
    } while (n < 0 && errno == EINTR);
    for (std::size_t i = 0; n > 0 && i < ready.size(); ++i) {
      if (ready[i].revents != 0) act(ready[i].fd, curl_mask(ready[i].revents));
    }
  }
  curl_multi_remove_handle(multi_, easy);
  if (err != 0) errno = err;
  return result;
}

void fiber_multi::act(curl_socket_t s, int mask) noexcept {
  int running = 0;
  curl_multi_socket_action(multi_, s, mask, &running);
}

int fiber_multi::on_socket(CURL* /*easy*/, curl_socket_t s, int what, void* self_ptr,
                           void* /*socket_state*/) {
  auto* self = static_cast<fiber_multi*>(self_ptr);
  auto it = std::find_if(self->sockets_.begin(), self->sockets_.end(),
                         [s](const pollfd& p) { return p.fd == s; });
  if (what == CURL_POLL_REMOVE) {
    if (it != self->sockets_.end()) self->sockets_.erase(it);
    return 0;
  }
  const short events = static_cast<short>(((what & CURL_POLL_IN) != 0 ? POLLIN : 0) |
                                          ((what & CURL_POLL_OUT) != 0 ? POLLOUT : 0));
  try {
    if (it != self->sockets_.end()) {
      it->events = events;
    } else {
      self->sockets_.push_back(pollfd{s, events, 0});
    }
  } catch (...) {
    return -1;  // out of memory
  }
  return 0;
}

int fiber_multi::on_timer(CURLM* /*multi*/, long timeout_ms, void* self_ptr) {
  auto* self = static_cast<fiber_multi*>(self_ptr);
  if (timeout_ms < 0) {
    self->timer_ = deadline::never();
  } else if (timeout_ms == 0) {
    self->timer_due_ = true;
  } else {
    self->timer_ = std::chrono::milliseconds(timeout_ms);
  }
  return 0;
}

}  // namespace balrog::http::detail
