// RAII for libcurl's objects, and the one-time global setup.
#pragma once

#include <curl/curl.h>

#include <memory>

namespace balrog::http::detail {

// curl_global_init, once per process, before the first handle (thread-safe).
void ensure_curl_initialized();

struct slist_deleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using slist_ptr = std::unique_ptr<curl_slist, slist_deleter>;

struct mime_deleter {
  void operator()(curl_mime* m) const noexcept { curl_mime_free(m); }
};
using mime_ptr = std::unique_ptr<curl_mime, mime_deleter>;

struct url_deleter {
  void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};
using url_ptr = std::unique_ptr<CURLU, url_deleter>;

struct curl_string_deleter {
  void operator()(char* s) const noexcept { curl_free(s); }
};
using curl_string = std::unique_ptr<char, curl_string_deleter>;

struct easy_deleter {
  void operator()(CURL* e) const noexcept { curl_easy_cleanup(e); }
};
using easy_ptr = std::unique_ptr<CURL, easy_deleter>;

}  // namespace balrog::http::detail
