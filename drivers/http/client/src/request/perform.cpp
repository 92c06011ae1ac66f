#include "request/perform.hpp"

#include <curl/curl.h>

#include <optional>
#include <string>
#include <utility>

#include "balrog/await.hpp"
#include "multi/shard_multi.hpp"
#include "request/configure.hpp"
#include "request/errors.hpp"
#include "request/session_state.hpp"
#include "transfer/transfer.hpp"

namespace balrog::http::detail {

namespace {

// Pushes `piece` into the channel, waiting for room. Coroutines cannot block: a full channel is
// waited for on a short-lived fiber (balrog::on_fiber), which back-pressures the transfer.
task<void> push_to(channel<std::string>& ch, std::string& piece) {
  if (ch.try_push(std::move(piece))) co_return;              // moves only on success
  auto push = [&ch, &piece] { ch.push(std::move(piece)); };  // a named closure: see task.hpp
  co_await balrog::on_fiber(push);
}

std::string_view version_name(long v) noexcept {
  switch (v) {
    case CURL_HTTP_VERSION_1_0:
      return "1.0";
    case CURL_HTTP_VERSION_1_1:
      return "1.1";
    case CURL_HTTP_VERSION_2_0:
      return "2";
    case CURL_HTTP_VERSION_3:
      return "3";
    default:
      return "";
  }
}

}  // namespace

void response_access::fill(response& r, transfer& t) {
  CURL* e = t.easy();
  long code = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
  r.status_ = static_cast<int>(code);
  r.reason_ = t.reason();
  r.headers_ = std::move(t.headers());
  char* effective = nullptr;
  curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &effective);
  r.url_ = effective != nullptr ? effective : t.resources().url;
  long count = 0;
  curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &count);
  r.redirects_ = static_cast<int>(count);
  long version = 0;
  curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &version);
  r.version_ = version_name(version);
}

response response_access::from_finished(transfer& t) {
  response r;
  fill(r, t);
  r.body_ = std::move(t.body());
  while (std::optional<std::string> piece = t.take_chunk()) r.body_ += *piece;  // streamed
  curl_off_t total_us = 0;
  curl_easy_getinfo(t.easy(), CURLINFO_TOTAL_TIME_T, &total_us);
  r.elapsed_ = std::chrono::microseconds(total_us);
  return r;
}

response response_access::from_streaming(std::unique_ptr<transfer> t) {
  response r;
  fill(r, *t);
  r.elapsed_ = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - t->started_at());
  r.transfer_ = std::move(t);
  return r;
}

task<response> perform(std::shared_ptr<session_state> session, std::string method, std::string url,
                       request_options options) {
  const session_options& s = session ? session->options : default_session_options();
  CURLSH* share = session ? session->share : nullptr;
  const body_plan plan = plan_body(s, options);
  // Closed whatever happens: after the last piece, or when the request fails.
  struct channel_closer {
    channel<std::string>* ch;
    ~channel_closer() {
      if (ch != nullptr) ch->close();
    }
  } closer{options.body_channel};

  auto t = std::make_unique<transfer>(shard_multi::current(), plan.mode, plan.max_bytes);
  configure(*t, s, share, std::move(method), std::move(url), options);
  t->start();

  if (options.stream) {
    while (!t->headers_final()) (void)co_await t->wait();
    // A response came: its reader gets the body and, after what arrived, any failure (as when
    // the peer resets the connection mid-body, whether before or after this point).
    long status = 0;
    curl_easy_getinfo(t->easy(), CURLINFO_RESPONSE_CODE, &status);
    if (!t->done() || (t->result() != CURLE_OK && status > 0)) {
      co_return response_access::from_streaming(std::move(t));
    }
  } else if (options.on_chunk || options.body_channel != nullptr) {
    for (;;) {
      while (std::optional<std::string> piece = t->take_chunk()) {
        if (options.on_chunk) {
          options.on_chunk(*piece);
        } else {
          co_await push_to(*options.body_channel, *piece);
        }
      }
      if (t->done()) break;
      (void)co_await t->wait();
    }
  } else {
    while (!t->done()) (void)co_await t->wait();
  }
  throw_if_failed(*t);
  co_return response_access::from_finished(*t);
}

}  // namespace balrog::http::detail
