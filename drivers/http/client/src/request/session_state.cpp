#include "request/session_state.hpp"

#include <new>
#include <utility>

#include "curl/handles.hpp"

namespace balrog::http::detail {

namespace {

void lock_share(CURL* /*easy*/, curl_lock_data data, curl_lock_access /*access*/, void* self) {
  static_cast<session_state*>(self)->locks[static_cast<std::size_t>(data)].lock();
}

void unlock_share(CURL* /*easy*/, curl_lock_data data, void* self) {
  static_cast<session_state*>(self)->locks[static_cast<std::size_t>(data)].unlock();
}

}  // namespace

session_state::session_state(session_options o) : options(std::move(o)) {
  ensure_curl_initialized();
  share = curl_share_init();
  if (share == nullptr) throw std::bad_alloc();
  curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &lock_share);
  curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &unlock_share);
  curl_share_setopt(share, CURLSHOPT_USERDATA, this);
  // Cookies only. DNS entries come from the thread's multi handle anyway; and TLS sessions
  // must not be shared: libcurl 7.88 drops (leaks) the session cache an easy handle already
  // has when the handle joins a share of TLS sessions, and pooled handles have one. Each
  // pooled handle resumes the TLS sessions it made itself.
  curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
}

session_state::~session_state() {
  // Requests hold the state until they end and detach their handles (transfer.cpp): nothing
  // uses the share any more.
  curl_share_cleanup(share);
}

const session_options& default_session_options() {
  static const session_options defaults = [] {
    session_options o;
    o.cookies = false;
    return o;
  }();
  return defaults;
}

}  // namespace balrog::http::detail
