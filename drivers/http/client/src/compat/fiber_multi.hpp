// A multi handle a fiber drives itself: the compat curl_easy_perform's engine.
//
// libcurl's own curl_easy_perform gives the easy handle a private multi handle and loops on
// curl_multi_wait + curl_multi_perform, blocking the thread. This does the same with the
// multi-socket API: libcurl names the sockets to watch and its next timeout, the fiber waits
// for them on the shard's reactor (compat's wait_any, which reports cancellation and deadlines
// as errno values) and hands back what is ready. Only the fiber that runs a transfer touches
// its multi handle, so the transfer's callbacks run on that fiber and may suspend it.
//
// Multi handles are pooled per thread (with the connections they cache): run() takes one,
// preferring the one this easy handle used last, and gives it back.
#pragma once

#include <curl/curl.h>
#include <poll.h>

#include <vector>

#include "balrog/deadline.hpp"

namespace balrog::http::detail {

class fiber_multi {
 public:
  // Runs `easy` to completion on the calling fiber; libcurl's result, or CURLE_FAILED_INIT
  // (the handle is in a multi handle already), CURLE_OUT_OF_MEMORY, CURLE_ABORTED_BY_CALLBACK
  // (the fiber was cancelled) or CURLE_OPERATION_TIMEDOUT (deadline_scope) with errno set.
  static CURLcode run(CURL* easy) noexcept;

  fiber_multi();
  fiber_multi(const fiber_multi&) = delete;
  fiber_multi& operator=(const fiber_multi&) = delete;
  ~fiber_multi();

  [[nodiscard]] bool valid() const noexcept { return multi_ != nullptr; }
  // The easy handle that ran on it last (to give its connection back to it).
  CURL* last_easy = nullptr;

 private:
  CURLcode transfer(CURL* easy) noexcept;
  void act(curl_socket_t s, int mask) noexcept;
  static int on_socket(CURL* easy, curl_socket_t s, int what, void* self, void* socket_state);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);

  CURLM* multi_ = nullptr;
  std::vector<pollfd> sockets_;  // what libcurl asked to watch
  deadline timer_;               // libcurl's next timeout (never: none)
  bool timer_due_ = false;
};

}  // namespace balrog::http::detail
