#include "transfer/transfer.hpp"

#include <cstdio>
#include <string>
#include <utility>

#include "multi/shard_multi.hpp"
#include "request/header_names.hpp"

namespace balrog::http::detail {

namespace {

// Queued body bytes above which a streaming transfer pauses until its reader catches up.
constexpr std::size_t stream_high_water = 256 * 1024;

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_redirect(int status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

request_resources::~request_resources() {
  if (upload != nullptr) std::fclose(upload);
}

transfer::transfer(shard_multi& multi, body_mode mode, std::size_t max_body)
    : multi_(multi),
      easy_(multi.take_easy()),
      mode_(mode),
      max_body_(max_body),
      started_at_(std::chrono::steady_clock::now()) {
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &transfer::on_header);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &transfer::on_write);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_buffer_);
  curl_easy_setopt(easy_, CURLOPT_PREREQFUNCTION, &transfer::on_prereq);
  curl_easy_setopt(easy_, CURLOPT_PREREQDATA, this);
}

void transfer::watch_uploads() noexcept {
  // Progress tells when bytes go out: sending makes no callback of its own. (Not for requests
  // without a body: libcurl's progress bookkeeping costs a few percent per request.)
  curl_easy_setopt(easy_, CURLOPT_XFERINFOFUNCTION, &transfer::on_progress);
  curl_easy_setopt(easy_, CURLOPT_XFERINFODATA, this);
  curl_easy_setopt(easy_, CURLOPT_NOPROGRESS, 0L);
}

transfer::~transfer() {
  if (running_ && !done_) multi_.stop(*this);
  // The handle points into this object and its resources, and maybe at a session's share
  // (which must be free to go with its session): unhook before pooling it.
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(easy_, CURLOPT_SHARE, nullptr);
  if (resources_.cookie_engine) {
    curl_easy_cleanup(easy_);
  } else {
    multi_.give_back(easy_);
  }
}

void transfer::start() {
  last_activity_ = std::chrono::steady_clock::now();
  multi_.start(*this);  // may finish at once (finish() runs inside)
  running_ = true;
  multi_.ensure_pump();
}

transfer::news_awaiter transfer::wait(deadline until) {
  if (!done_) multi_.ensure_pump();
  return news_awaiter(*this, until);
}

deadline transfer::idle_deadline() const noexcept {
  if (idle_ == std::chrono::steady_clock::duration::zero() || done_ || paused_) {
    return deadline::never();
  }
  return last_activity_ + idle_;
}

void transfer::check_idle() noexcept {
  if (done_ || paused_ || idle_ == std::chrono::steady_clock::duration::zero()) return;
  if (std::chrono::steady_clock::now() - last_activity_ < idle_) return;
  multi_.stop(*this);
  idle_expired_ = true;
  const auto seconds = std::chrono::duration_cast<std::chrono::milliseconds>(idle_).count();
  std::snprintf(error_buffer_, sizeof error_buffer_,
                "nothing received or sent for %lld ms (idle_timeout)",
                static_cast<long long>(seconds));
  finish(CURLE_OPERATION_TIMEDOUT);
}

int transfer::on_progress(void* self_ptr, curl_off_t /*download_total*/, curl_off_t downloaded,
                          curl_off_t /*upload_total*/, curl_off_t uploaded) {
  auto* self = static_cast<transfer*>(self_ptr);
  if (downloaded != self->downloaded_ || uploaded != self->uploaded_) {
    self->downloaded_ = downloaded;
    self->uploaded_ = uploaded;
    self->last_activity_ = self->multi_.call_time();
  }
  return 0;
}

int transfer::on_prereq(void* self_ptr, char* /*primary_ip*/, char* /*local_ip*/,
                        int /*primary_port*/, int /*local_port*/) {
  static_cast<transfer*>(self_ptr)->ever_connected_ = true;
  return CURL_PREREQFUNC_OK;
}

void transfer::finish(CURLcode result) noexcept {
  done_ = true;
  result_ = result;
  headers_final_ = true;
  signal_.notify();
}

std::optional<std::string> transfer::take_chunk() {
  if (chunks_.empty()) return std::nullopt;
  std::string piece = std::move(chunks_.front());
  chunks_.pop_front();
  queued_bytes_ -= piece.size();
  if (paused_ && chunks_.empty()) {
    paused_ = false;
    last_activity_ = std::chrono::steady_clock::now();  // waiting for our reader is not idling
    multi_.unpause(*this);  // libcurl delivers what it held back: on_write runs in here
  }
  return piece;
}

// The callbacks are called by C code: nothing may escape them. Out of memory fails the
// transfer (a short count is CURLE_WRITE_ERROR).
std::size_t transfer::on_header(char* data, std::size_t size, std::size_t count, void* self) {
  const std::size_t n = size * count;
  try {
    static_cast<transfer*>(self)->header_line(std::string_view(data, n));
    return n;
  } catch (...) {
    return 0;
  }
}

void transfer::header_line(std::string_view raw) {
  last_activity_ = multi_.call_time();
  const std::string_view line = trim(raw);
  if (line.starts_with("HTTP/")) {  // a new response: a redirect's, an interim 1xx, the final
    headers_.clear();
    headers_.reserve(16);  // one allocation for a typical response's headers, not four or five
    reason_.clear();
    location_seen_ = false;
    status_ = 0;
    const std::size_t sp = line.find(' ');
    if (sp != std::string_view::npos) {
      std::string_view rest = line.substr(sp + 1);
      const std::size_t sp2 = rest.find(' ');
      for (char c : rest.substr(0, sp2)) {
        if (c < '0' || c > '9') break;
        status_ = status_ * 10 + (c - '0');
      }
      if (sp2 != std::string_view::npos) reason_ = trim(rest.substr(sp2 + 1));
    }
    return;
  }
  if (line.empty()) {                             // the end of a response's headers
    if (status_ >= 100 && status_ < 200) return;  // interim (100 Continue): more to come
    if (follow_ && is_redirect(status_) && location_seen_ && redirects_seen_ < max_redirects_) {
      ++redirects_seen_;  // libcurl follows it: its body is skipped
      return;
    }
    if (!headers_final_) {
      headers_final_ = true;
      signal_.notify();
    }
    return;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return;  // not a header (garbage, folding)
  std::string_view name = trim(line.substr(0, colon));
  if (equal_names(name, "location")) location_seen_ = true;
  headers_.emplace_back(std::string(name), std::string(trim(line.substr(colon + 1))));
}

std::size_t transfer::on_write(char* data, std::size_t size, std::size_t count, void* self) {
  try {
    return static_cast<transfer*>(self)->body_bytes(std::string_view(data, size * count));
  } catch (...) {
    return 0;
  }
}

std::size_t transfer::body_bytes(std::string_view bytes) {
  last_activity_ = multi_.call_time();
  if (!headers_final_) {  // a body without the end of headers we expected (no Location...)
    headers_final_ = true;
  }
  if (mode_ == body_mode::keep) {
    if (max_body_ != 0 && body_.size() + bytes.size() > max_body_) {
      too_large_ = true;
      return 0;  // CURLE_WRITE_ERROR: the transfer stops
    }
    body_.append(bytes);
    return bytes.size();
  }
  if (queued_bytes_ >= stream_high_water) {
    paused_ = true;
    return CURL_WRITEFUNC_PAUSE;  // libcurl keeps these bytes and offers them again on unpause
  }
  chunks_.emplace_back(bytes);
  queued_bytes_ += bytes.size();
  signal_.notify();
  return bytes.size();
}

}  // namespace balrog::http::detail
