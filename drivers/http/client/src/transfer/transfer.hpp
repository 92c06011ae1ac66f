// One request in flight: its easy handle, what libcurl's callbacks collect, and the queue
// between them and whoever awaits the request.
//
// libcurl calls the header and write callbacks from curl_multi_socket_action, on the thread
// that owns the transfer, run by whoever drives the multi handle (the shard's pump, or a
// request starting): the callbacks never wait and never throw. They fill in the status line
// and headers, and the body: appended (kept in memory, up to a limit) or queued in pieces for
// a reader (streaming), pausing libcurl while the queue is full. Each step wakes the waiter
// (transfer_signal).
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "balrog/http/request.hpp"
#include "curl/handles.hpp"
#include "transfer/signal.hpp"

namespace balrog::http::detail {

class shard_multi;

// What the request must keep alive while libcurl uses it (it points into these).
struct request_resources {
  std::string method;
  std::string url;
  std::string body;  // data, json or form, sent from here (CURLOPT_POSTFIELDS)
  slist_ptr headers;
  mime_ptr mime;
  std::FILE* upload = nullptr;  // upload_file
  // The handle's cookie engine was turned on. libcurl keeps a trace of that through
  // curl_easy_reset (it would start a jar of its own on the next transfer), so such a handle is
  // not reused for another request.
  bool cookie_engine = false;
  request_resources() = default;
  request_resources(const request_resources&) = delete;
  request_resources& operator=(const request_resources&) = delete;
  ~request_resources();
};

class transfer {
 public:
  enum class body_mode : std::uint8_t {
    keep,    // appended to body(), at most max_body bytes
    stream,  // queued in pieces for take_chunk()
  };

  // Takes an easy handle from `multi`'s pool and installs the callbacks.
  transfer(shard_multi& multi, body_mode mode, std::size_t max_body);
  transfer(const transfer&) = delete;
  transfer& operator=(const transfer&) = delete;
  // Stops the transfer if it still runs, and gives the easy handle back.
  ~transfer();

  [[nodiscard]] CURL* easy() const noexcept { return easy_; }
  [[nodiscard]] request_resources& resources() noexcept { return resources_; }
  [[nodiscard]] const request_resources& resources() const noexcept { return resources_; }
  [[nodiscard]] shard_multi& multi() const noexcept { return multi_; }
  // Whether redirects will be followed, and how many (to tell a final response from one that
  // libcurl follows; set with the options).
  void set_redirects(bool follow, long max) noexcept {
    follow_ = follow;
    max_redirects_ = max;
  }

  // No byte received or sent for this long fails the transfer (http::timeout); zero: never.
  // Time spent paused for a slow reader does not count.
  void set_idle_timeout(std::chrono::steady_clock::duration idle) noexcept { idle_ = idle; }

  // The request sends a body: its progress counts as activity for the idle timeout.
  void watch_uploads() noexcept;

  // Adds the handle to the thread's multi handle: the transfer runs from now on.
  void start();
  // Waits for news: headers final, a piece of the body, the end. Makes sure something drives
  // the multi handle. co_await yields false when `until` passed first, and also ends the
  // transfer (done(), CURLE_OPERATION_TIMEDOUT) when it has been idle too long. Throws
  // timeout_error for an enclosing deadline_scope, cancelled.
  class news_awaiter;
  [[nodiscard]] news_awaiter wait(deadline until = deadline::never());

  // libcurl finished it (the multi handle no longer holds it).
  void finish(CURLcode result) noexcept;
  [[nodiscard]] bool done() const noexcept { return done_; }
  [[nodiscard]] CURLcode result() const noexcept { return result_; }
  // libcurl's detailed message for result() (CURLOPT_ERRORBUFFER), or "".
  [[nodiscard]] std::string_view error_detail() const noexcept { return error_buffer_; }
  // The body passed max_body (the transfer failed with CURLE_WRITE_ERROR because of it).
  [[nodiscard]] bool too_large() const noexcept { return too_large_; }
  // The transfer was ended by its idle timeout (result() is CURLE_OPERATION_TIMEDOUT).
  [[nodiscard]] bool idle_expired() const noexcept { return idle_expired_; }
  // A connection was up for the request at some point (made or reused; libcurl's prereq
  // callback ran): a timeout before that is a connect timeout, whatever libcurl's message.
  [[nodiscard]] bool ever_connected() const noexcept { return ever_connected_; }

  // The final response's headers are in (its body, if any, comes next).
  [[nodiscard]] bool headers_final() const noexcept { return headers_final_; }
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }
  [[nodiscard]] fields& headers() noexcept { return headers_; }
  [[nodiscard]] std::string& body() noexcept { return body_; }

  // Streaming: the next queued piece, or nullopt when none is queued (done() tells whether
  // more may come). Resumes a transfer paused because the queue was full.
  std::optional<std::string> take_chunk();

  // The thread that owns the transfer (its multi handle's): the only one that may touch it.
  [[nodiscard]] bool on_owner_thread() const noexcept {
    return std::this_thread::get_id() == owner_;
  }

  // When the request began (for response::elapsed).
  [[nodiscard]] std::chrono::steady_clock::time_point started_at() const noexcept {
    return started_at_;
  }

 private:
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self);
  static std::size_t on_write(char* data, std::size_t size, std::size_t count, void* self);
  static int on_progress(void* self, curl_off_t download_total, curl_off_t downloaded,
                         curl_off_t upload_total, curl_off_t uploaded);
  static int on_prereq(void* self, char* primary_ip, char* local_ip, int primary_port,
                       int local_port);
  // After a wait that ended at its deadline: ends an idle transfer.
  void check_idle() noexcept;
  [[nodiscard]] deadline idle_deadline() const noexcept;
  void header_line(std::string_view line);
  std::size_t body_bytes(std::string_view bytes);

  shard_multi& multi_;
  CURL* easy_;
  body_mode mode_;
  std::size_t max_body_;
  request_resources resources_;
  transfer_signal signal_;
  std::chrono::steady_clock::time_point started_at_;
  std::thread::id owner_ = std::this_thread::get_id();

  bool running_ = false;  // in the multi handle
  bool done_ = false;
  CURLcode result_ = CURLE_OK;
  bool too_large_ = false;
  bool idle_expired_ = false;
  bool ever_connected_ = false;
  char error_buffer_[CURL_ERROR_SIZE] = {};
  std::chrono::steady_clock::duration idle_{};
  std::chrono::steady_clock::time_point last_activity_;
  curl_off_t downloaded_ = 0;
  curl_off_t uploaded_ = 0;

  // The response block being read (each redirect and 1xx response has its own).
  int status_ = 0;
  std::string reason_;
  fields headers_;
  bool location_seen_ = false;
  int redirects_seen_ = 0;
  bool follow_ = false;
  long max_redirects_ = 0;
  bool headers_final_ = false;

  std::string body_;
  std::list<std::string> chunks_;  // not a deque: an empty one allocates nothing
  std::size_t queued_bytes_ = 0;
  bool paused_ = false;
};

// co_await t.wait(until): see transfer::wait.
class transfer::news_awaiter {
 public:
  news_awaiter(transfer& t, deadline until) noexcept
      : t_(t), until_(until), inner_(t.signal_, earliest(until, t.idle_deadline())) {}
  bool await_ready() noexcept { return inner_.await_ready(); }
  void await_suspend(std::coroutine_handle<> h) noexcept { inner_.await_suspend(h); }
  bool await_resume() {
    if (inner_.await_resume()) return true;
    t_.check_idle();
    return t_.done() || !until_.expired();  // false: `until` itself passed
  }

 private:
  transfer& t_;
  deadline until_;
  transfer_signal::awaiter inner_;
};

}  // namespace balrog::http::detail
