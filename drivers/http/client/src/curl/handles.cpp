#include "curl/handles.hpp"

#include <new>

namespace balrog::http::detail {

void ensure_curl_initialized() {
  // Thread-safe since libcurl 7.84; the static makes it once. OpenSSL needs nothing more.
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) throw std::bad_alloc();  // its only failure: out of memory
}

}  // namespace balrog::http::detail
