// The C face of the libcurl compat layer (balrog/http/compat/libcurl_c.h): each function
// forwards to its balrog::compat twin. None of those throws (failures are libcurl's codes), so
// nothing crosses the C boundary.
#include "balrog/http/compat/libcurl_c.h"

#include "balrog/http/compat/libcurl.hpp"

extern "C" {

CURLcode balrog_curl_easy_perform(CURL* easy) { return balrog::compat::curl_easy_perform(easy); }
CURLMcode balrog_curl_multi_wait(CURLM* multi, struct curl_waitfd extra_fds[],
                                 unsigned int extra_nfds, int timeout_ms, int* numfds) {
  return balrog::compat::curl_multi_wait(multi, extra_fds, extra_nfds, timeout_ms, numfds);
}
CURLMcode balrog_curl_multi_poll(CURLM* multi, struct curl_waitfd extra_fds[],
                                 unsigned int extra_nfds, int timeout_ms, int* numfds) {
  return balrog::compat::curl_multi_poll(multi, extra_fds, extra_nfds, timeout_ms, numfds);
}

}  // extern "C"
