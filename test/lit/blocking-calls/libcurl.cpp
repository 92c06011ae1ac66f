// The libcurl map: curl_easy_perform, curl_multi_wait and curl_multi_poll become their
// balrog::compat twins (same arguments), with the include; the non-blocking API stays. The
// rewritten file must still compile against curl/curl.h and balrog's header.
// RUN: printf 'maps: [libcurl]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags -I%S/../../../drivers/http/include %t.cpp

#include <curl/curl.h>
// CHECK-FIXES: #include <balrog/http/compat/libcurl.hpp>
// CHECK-FIXES-NEXT: #include <curl/curl.h>

#include <string>

static size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

CURLcode fetch(const char* url, std::string& body) {
  CURL* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url);
  // CHECK-FIXES: curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(h);
  // CHECK-FIXES: CURLcode rc = balrog::compat::curl_easy_perform(h);
  if (rc == CURLE_OK) rc = ::curl_easy_perform(h);  // again, reusing the connection
  // CHECK-FIXES: if (rc == CURLE_OK) rc = balrog::compat::curl_easy_perform(h);  // again, reusing the connection
  curl_easy_cleanup(h);
  return rc;
}

// The classic multi loop: perform, then wait (or poll) for activity.
int drive(CURLM* multi) {
  int running = 1;
  int rounds = 0;
  while (running > 0) {
    curl_multi_perform(multi, &running);
    // CHECK-FIXES: curl_multi_perform(multi, &running);
    int numfds = 0;
    if (rounds++ % 2 == 0) {
      curl_multi_poll(multi, nullptr, 0, 1000, &numfds);
      // CHECK-FIXES: balrog::compat::curl_multi_poll(multi, nullptr, 0, 1000, &numfds);
    } else if (curl_multi_wait(multi, nullptr, 0, 1000, &numfds) != CURLM_OK) {
      // CHECK-FIXES: } else if (balrog::compat::curl_multi_wait(multi, nullptr, 0, 1000, &numfds) != CURLM_OK) {
      return -1;
    }
  }
  return rounds;
}

// The multi-socket API never blocks: left alone.
int on_event(CURLM* multi, curl_socket_t s, int mask) {
  int running = 0;
  curl_multi_socket_action(multi, s, mask, &running);
  // CHECK-FIXES: curl_multi_socket_action(multi, s, mask, &running);
  return running;
}

// A pointer to curl_easy_perform: calls through it are not rewritten, reported.
using perform_fn = CURLcode (*)(CURL*);
perform_fn pick() { return &curl_easy_perform; }
// CHECK-MESSAGES: :[[@LINE-1]]:29: warning: 'curl_easy_perform' is taken by address; calls through the pointer block the thread and are not rewritten (call 'balrog::compat::curl_easy_perform' instead) [blocking-calls]
