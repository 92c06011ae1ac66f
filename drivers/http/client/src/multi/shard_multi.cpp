#include "multi/shard_multi.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <new>
#include <string>

#include "balrog/errors.hpp"
#include "balrog/http/error.hpp"
#include "balrog/io.hpp"
#include "curl/handles.hpp"
#include "multi/client_options.hpp"
#include "transfer/transfer.hpp"

namespace balrog::http::detail {

namespace {

// Easy handles kept for reuse per thread (curl_easy_init costs more than curl_easy_reset).
constexpr std::size_t idle_easy_limit = 64;
// Timeouts libcurl asks for "now" that are run in a row before the shard's other work goes
// first (the rest wait for one loop turn).
constexpr int due_now_budget = 8;

int events_for(int what) noexcept {
  switch (what) {
    case CURL_POLL_IN:
      return EPOLLIN;
    case CURL_POLL_OUT:
      return EPOLLOUT;
    case CURL_POLL_INOUT:
      return EPOLLIN | EPOLLOUT;
    default:
      return 0;
  }
}

int curl_mask(std::uint32_t events) noexcept {
  int mask = 0;
  if ((events & (EPOLLIN | EPOLLRDHUP)) != 0) mask |= CURL_CSELECT_IN;
  if ((events & EPOLLOUT) != 0) mask |= CURL_CSELECT_OUT;
  if ((events & (EPOLLERR | EPOLLHUP)) != 0) mask |= CURL_CSELECT_ERR;
  return mask;
}

}  // namespace

shard_multi& shard_multi::current() {
  thread_local shard_multi multi;
  return multi;
}

shard_multi::shard_multi() {
  ensure_curl_initialized();
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw_errno("balrog::http: epoll_create1");
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ < 0) {
    ::close(epoll_fd_);
    throw_errno("balrog::http: timerfd_create");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = timer_fd_;
  multi_ = curl_multi_init();
  if (multi_ == nullptr || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &ev) != 0) {
    const int err = errno;
    curl_multi_cleanup(multi_);
    ::close(timer_fd_);
    ::close(epoll_fd_);
    if (multi_ == nullptr) throw std::bad_alloc();
    throw_errno(err, "balrog::http: epoll_ctl(timerfd)");
  }
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &shard_multi::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &shard_multi::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

shard_multi::~shard_multi() {
  // Requests end before their thread does; a transfer still here was leaked with its response.
  for (auto& [easy, t] : running_) curl_multi_remove_handle(multi_, easy);
  running_.clear();
  for (CURL* e : idle_easy_) curl_easy_cleanup(e);
  curl_multi_cleanup(multi_);  // closes the cached connections (their sockets leave epoll_fd_)
  ::close(timer_fd_);
  ::close(epoll_fd_);
}

CURL* shard_multi::take_easy() {
  if (!idle_easy_.empty()) {
    CURL* e = idle_easy_.back();
    idle_easy_.pop_back();
    curl_easy_reset(e);
    return e;
  }
  CURL* e = curl_easy_init();
  if (e == nullptr) throw std::bad_alloc();
  return e;
}

void shard_multi::give_back(CURL* easy) noexcept {
  if (idle_easy_.size() < idle_easy_limit) {
    try {
      idle_easy_.push_back(easy);
      return;
    } catch (...) {  // out of memory: clean it up instead
    }
  }
  curl_easy_cleanup(easy);
}

void shard_multi::apply_options() noexcept {
  if (!client_options_changed(options_generation_)) return;
  const options_snapshot s = snapshot_client_options();
  const client_options& o = s.options;
  const auto clamp = [](std::size_t n) { return static_cast<long>(n > LONG_MAX ? LONG_MAX : n); };
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, clamp(o.max_connections));
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, clamp(o.max_connections_per_host));
  if (o.max_idle_connections > 0) {
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, clamp(o.max_idle_connections));
  }
  curl_multi_setopt(multi_, CURLMOPT_MAX_CONCURRENT_STREAMS,
                    clamp(o.max_concurrent_streams == 0 ? 1 : o.max_concurrent_streams));
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING,
                    o.multiplex ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
  options_generation_ = s.generation;
}

void shard_multi::start(transfer& t) {
  apply_options();
  call_time_ = clock::now();
  CURL* easy = t.easy();
  running_.emplace(easy, &t);  // before adding: libcurl may finish it at once
  const CURLMcode code = curl_multi_add_handle(multi_, easy);
  if (code != CURLM_OK) {
    running_.erase(easy);
    if (code == CURLM_OUT_OF_MEMORY) throw std::bad_alloc();
    throw invalid_request(
        std::string("balrog::http: curl_multi_add_handle: ") + curl_multi_strerror(code), 0, "");
  }
  // libcurl asks to be called "now" to start it. Alone, it starts here. Among others, not from
  // here: the pump's next call of libcurl starts every transfer added meanwhile at once
  // (libcurl runs its expired timers in every curl_multi_socket_action), so requests that
  // start together — the fibers one completion batch woke — cost one call, not one each. The
  // timerfd makes sure that call comes even when no socket wakes the pump first.
  if (due_now_ && running_.size() > 1) {
    due_now_ = false;
    want_timer(clock::now());
  }
  settle();
}

void shard_multi::stop(transfer& t) noexcept {
  if (running_.erase(t.easy()) == 0) return;
  call_time_ = clock::now();
  curl_multi_remove_handle(multi_, t.easy());
  settle();
}

void shard_multi::unpause(transfer& t) noexcept {
  if (running_.count(t.easy()) == 0) return;
  call_time_ = clock::now();
  // May deliver the data held back at once (the write callback runs inside this call).
  curl_easy_pause(t.easy(), CURLPAUSE_CONT);
  settle();
}

void shard_multi::ensure_pump() {
  if (pump_running_ || running_.empty()) return;
  pump_running_ = true;
  try {
    fiber_options o;
    o.name = "balrog-http-pump";
    balrog::spawn_task(pump(), std::move(o)).detach();
  } catch (...) {
    pump_running_ = false;
    throw;
  }
}

task<void> shard_multi::pump() {
  struct running_flag {
    bool& flag;
    ~running_flag() { flag = false; }
  } flag{pump_running_};
  std::array<epoll_event, 64> events{};
  while (!running_.empty()) {
    try {
      co_await balrog::readable(epoll_fd_);
    } catch (const cancelled&) {
      co_return;  // the scheduler is shutting down; the next wait starts another pump
    }
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 0);
    for (int i = 0; i < n; ++i) {
      const epoll_event& e = events[static_cast<std::size_t>(i)];
      if (e.data.fd == timer_fd_) {
        std::uint64_t expirations = 0;
        (void)!::read(timer_fd_, &expirations, sizeof expirations);
        if (timer_due()) act(CURL_SOCKET_TIMEOUT, 0);
      } else {
        act(e.data.fd, curl_mask(e.events));
      }
    }
  }
}

void shard_multi::act(curl_socket_t s, int mask) noexcept {
  call_time_ = clock::now();
  int still_running = 0;
  curl_multi_socket_action(multi_, s, mask, &still_running);
  settle();
}

void shard_multi::settle() noexcept {
  int budget = due_now_budget;
  for (;;) {
    for (; due_now_ && budget > 0; --budget) {
      due_now_ = false;
      int still_running = 0;
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &still_running);
    }
    collect_finished();  // removing a finished handle may ask for "now" again
    if (!due_now_) return;
    if (budget == 0) {  // still asking: after the shard's other work (the pump's next turn)
      due_now_ = false;
      want_timer(clock::now());
      return;
    }
  }
}

void shard_multi::collect_finished() noexcept {
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
    if (m->msg != CURLMSG_DONE) continue;
    CURL* easy = m->easy_handle;
    const CURLcode result = m->data.result;  // read before removing: m dies with it
    const auto it = running_.find(easy);
    if (it == running_.end()) continue;
    transfer* t = it->second;
    running_.erase(it);
    curl_multi_remove_handle(multi_, easy);
    t->finish(result);
  }
}

void shard_multi::want_timer(deadline when) noexcept {
  timer_wanted_ = when;
  if (when.is_never() || when.when() >= timer_armed_.when()) return;  // fires early: fine
  arm_timerfd(when.when());
}

bool shard_multi::timer_due() noexcept {
  timer_armed_ = deadline::never();  // it fired
  if (timer_wanted_.is_never()) return false;
  if (timer_wanted_.when() > clock::now()) {  // moved later since: wait for that
    arm_timerfd(timer_wanted_.when());
    return false;
  }
  timer_wanted_ = deadline::never();  // one-shot: libcurl sets the next one
  return true;
}

void shard_multi::arm_timerfd(clock::time_point at) noexcept {
  // CLOCK_MONOTONIC is steady_clock's clock: an absolute time, never 0 (which would disarm).
  const auto ns = std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count());
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  ::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
  timer_armed_ = at;
}

int shard_multi::on_socket(CURL* /*easy*/, curl_socket_t s, int what, void* self_ptr,
                           void* socket_state) {
  auto* self = static_cast<shard_multi*>(self_ptr);
  if (what == CURL_POLL_REMOVE) {
    // Fails with EBADF/ENOENT when libcurl closed it already (the close removed it): fine.
    ::epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, s, nullptr);
    curl_multi_assign(self->multi_, s, nullptr);
    return 0;
  }
  epoll_event ev{};
  ev.events = static_cast<std::uint32_t>(events_for(what));
  ev.data.fd = s;
  // Level-triggered, as libcurl expects. A socket closed and its number reused without a
  // REMOVE (libcurl always sends one) would fail ADD with EEXIST or MOD with ENOENT: retry the
  // other way.
  if (socket_state == nullptr) {
    if (::epoll_ctl(self->epoll_fd_, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST) {
      ::epoll_ctl(self->epoll_fd_, EPOLL_CTL_MOD, s, &ev);
    }
    curl_multi_assign(self->multi_, s, self);  // marks it registered
  } else if (::epoll_ctl(self->epoll_fd_, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT) {
    ::epoll_ctl(self->epoll_fd_, EPOLL_CTL_ADD, s, &ev);
  }
  return 0;
}

int shard_multi::on_timer(CURLM* /*multi*/, long timeout_ms, void* self_ptr) {
  auto* self = static_cast<shard_multi*>(self_ptr);
  if (timeout_ms < 0) {
    self->due_now_ = false;
    self->want_timer(deadline::never());  // an armed timerfd fires for nothing: ignored
  } else if (timeout_ms == 0) {
    self->due_now_ = true;  // settle() runs it when libcurl returns
    self->timer_wanted_ = deadline::never();
  } else {
    self->due_now_ = false;
    self->want_timer(std::chrono::milliseconds(timeout_ms));
  }
  return 0;
}

}  // namespace balrog::http::detail
