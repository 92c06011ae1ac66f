// What a session shares between its requests (and the shards they run on): its options and a
// libcurl share holding its cookie jar (used when options.cookies is on), locked for threads.
#pragma once

#include <curl/curl.h>

#include <array>
#include <mutex>

#include "balrog/http/session.hpp"

namespace balrog::http::detail {

struct session_state {
  explicit session_state(session_options o);
  session_state(const session_state&) = delete;
  session_state& operator=(const session_state&) = delete;
  ~session_state();

  session_options options;
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;  // one per kind of shared data
};

// The options of the free functions (http::get...): defaults, no cookie jar.
const session_options& default_session_options();

}  // namespace balrog::http::detail
