/* balrog/http/compat/libcurl_c.h — libcurl's blocking calls, the C face.
 *
 * The functions of balrog/http/compat/libcurl.hpp with C linkage: balrog_curl_easy_perform,
 * balrog_curl_multi_wait, balrog_curl_multi_poll, with libcurl's exact signatures and
 * semantics (CURLcode / CURLMcode, every CURLOPT, the error buffer, the callbacks and their
 * return values). It is what balrog-gen rewrites calls in C files to (the libcurl map):
 * curl_easy_perform(h) becomes balrog_curl_easy_perform(h), and this header is included. On a
 * fiber the transfer (or the wait) suspends the fiber instead of the thread and every callback
 * runs on that fiber; on a plain thread without a balrog runtime it is libcurl's own; in
 * coroutine code a call that would wait returns CURLE_RECURSIVE_API_CALL
 * (CURLM_RECURSIVE_API_CALL) with errno EDEADLK. libcurl.hpp and docs/http.md are the manual.
 *
 * The program links balrog::http (a C++ library: link with a C++ driver, or add -lstdc++).
 * Usable from C99 and later, and from C++.
 */
#ifndef BALROG_HTTP_COMPAT_LIBCURL_C_H
#define BALROG_HTTP_COMPAT_LIBCURL_C_H

#include <curl/curl.h>

#ifdef __cplusplus
extern "C" {
#endif

CURLcode balrog_curl_easy_perform(CURL* easy);
CURLMcode balrog_curl_multi_wait(CURLM* multi, struct curl_waitfd extra_fds[],
                                 unsigned int extra_nfds, int timeout_ms, int* numfds);
CURLMcode balrog_curl_multi_poll(CURLM* multi, struct curl_waitfd extra_fds[],
                                 unsigned int extra_nfds, int timeout_ms, int* numfds);

#ifdef __cplusplus
}
#endif

#endif /* BALROG_HTTP_COMPAT_LIBCURL_C_H */
