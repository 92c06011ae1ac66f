// A C libcurl program: curl_easy_perform and the multi waits become the C face of the libcurl
// compat layer (balrog_curl_easy_perform... in balrog/http/compat/libcurl_c.h); the calls that
// never wait (setopt, getinfo, multi_perform) stay. The result compiles as C and mentions no
// C++ name.
// RUN: printf 'maps: [libcurl]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- -std=c11 -I%S/../../../drivers/http/include
// RUN: clang-16 -x c -std=c11 -Wall -Wextra -Werror -fsyntax-only -I%S/../../../drivers/http/include %t.c
// RUN: sed 's|//.*||' %t.c | %not grep -E '::|\.hpp'

#include <curl/curl.h>
// CHECK-FIXES: #include <balrog/http/compat/libcurl_c.h>
// CHECK-FIXES-NEXT: #include <curl/curl.h>

long fetch(const char* url) {
  CURL* easy = curl_easy_init();
  CURLM* multi = curl_multi_init();
  long status = 0;
  int running = 1;
  int ready = 0;
  curl_easy_setopt(easy, CURLOPT_URL, url);
  // CHECK-FIXES: curl_easy_setopt(easy, CURLOPT_URL, url);
  if (curl_easy_perform(easy) != CURLE_OK) return -1;
  // CHECK-FIXES: if (balrog_curl_easy_perform(easy) != CURLE_OK) return -1;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  // CHECK-FIXES: curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_multi_add_handle(multi, easy);
  while (running > 0) {
    curl_multi_perform(multi, &running);
    // CHECK-FIXES: curl_multi_perform(multi, &running);
    curl_multi_wait(multi, NULL, 0, 1000, &ready);
    // CHECK-FIXES: balrog_curl_multi_wait(multi, NULL, 0, 1000, &ready);
    curl_multi_poll(multi, NULL, 0, 1000, &ready);
    // CHECK-FIXES: balrog_curl_multi_poll(multi, NULL, 0, 1000, &ready);
  }
  curl_multi_remove_handle(multi, easy);
  curl_multi_cleanup(multi);
  curl_easy_cleanup(easy);
  return status;
}
