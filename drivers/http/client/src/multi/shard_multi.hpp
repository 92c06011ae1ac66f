// The thread's libcurl multi handle, driven by the shard's reactor (multi-socket API).
//
// libcurl says which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to call it back
// without any (CURLMOPT_TIMERFUNCTION). The sockets go into an epoll set of our own, and the
// timer into a timerfd in that set: the shard's reactor then watches one fd, the set's, and the
// pump (a coroutine task of the shard, alive while transfers run) wakes when it is readable and
// hands libcurl the sockets that are ready (curl_multi_socket_action). Requests add their easy
// handles and wait on their transfers (transfer.hpp); libcurl's callbacks wake them.
//
// Who may call libcurl: only code outside libcurl's callbacks, on this thread — the pump, a
// request starting or giving up, a reader unpausing a stream. Each such call goes through this
// class, which afterwards runs the timeouts libcurl asked for "now" (a few in a row at most;
// more wait for the next loop turn, so a busy libcurl cannot starve the shard's fibers) and
// hands finished transfers to their waiters.
//
// One per thread (thread_local), created on first use: a shard of the runtime, or a plain
// thread in sync mode (its blocking-style calls each run a private scheduler; the multi handle
// and its connection cache outlive them, and a new pump starts with each).
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/task.hpp"

namespace balrog::http::detail {

class transfer;

class shard_multi {
 public:
  // This thread's. Throws std::bad_alloc / io_error when the multi handle or its fds cannot be
  // made.
  static shard_multi& current();

  shard_multi();
  shard_multi(const shard_multi&) = delete;
  shard_multi& operator=(const shard_multi&) = delete;
  ~shard_multi();

  // An easy handle in its default state (from the pool, or new). Throws std::bad_alloc.
  CURL* take_easy();
  // Back to the pool (it must not be in the multi handle any more).
  void give_back(CURL* easy) noexcept;

  // Adds `t`'s configured easy handle; the pump starts it on its next turn. Throws
  // std::bad_alloc, or invalid_request for what curl_multi_add_handle refuses.
  void start(transfer& t);
  // Takes a running transfer out (abandoned: its waiter gave up). Never throws.
  void stop(transfer& t) noexcept;
  // Resumes a transfer paused by its write callback.
  void unpause(transfer& t) noexcept;
  // Makes sure the pump runs on this thread's scheduler (call from coroutine code).
  void ensure_pump();

  [[nodiscard]] std::size_t running() const noexcept { return running_.size(); }

  // When the call of libcurl now running began (its callbacks run inside such a call, from
  // start, stop, unpause or the pump): the time a transfer's callbacks record as its last
  // activity. One clock read per call instead of one per header line and body piece (a
  // response's ~7 header lines and its body come in one call).
  [[nodiscard]] clock::time_point call_time() const noexcept { return call_time_; }

 private:
  static int on_socket(CURL* easy, curl_socket_t s, int what, void* self, void* socket_state);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);

  task<void> pump();
  // curl_multi_socket_action for a ready socket (or CURL_SOCKET_TIMEOUT), then settle().
  void act(curl_socket_t s, int mask) noexcept;
  // Runs timeouts due now (bounded), then hands finished transfers to their waiters.
  void settle() noexcept;
  void collect_finished() noexcept;
  // libcurl wants to be called back at `when` (never: not at all). The timerfd is re-armed only
  // when that is earlier than what it is armed for: libcurl moves its timer often, and a timer
  // that fires early costs one look (the pump re-arms it for the time wanted), not a syscall
  // per move.
  void want_timer(deadline when) noexcept;
  // The timerfd fired: true when libcurl's timer is due (else it was re-armed or dropped).
  bool timer_due() noexcept;
  void arm_timerfd(clock::time_point at) noexcept;
  void apply_options() noexcept;

  CURLM* multi_ = nullptr;
  int epoll_fd_ = -1;      // libcurl's sockets and the timerfd
  int timer_fd_ = -1;      // libcurl's timer (CLOCK_MONOTONIC)
  deadline timer_wanted_;  // libcurl's timer
  deadline timer_armed_;   // what the timerfd fires at
  bool due_now_ = false;   // libcurl asked to be called back at once (timeout 0)
  bool pump_running_ = false;
  clock::time_point call_time_ = clock::now();
  std::uint64_t options_generation_ = 0;
  std::unordered_map<CURL*, transfer*> running_;
  std::vector<CURL*> idle_easy_;
};

}  // namespace balrog::http::detail
