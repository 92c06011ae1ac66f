/* raw_multi_client: the peer of balrog's HTTP client benchmark — a minimal, efficient libcurl
 * client in C: one thread, one multi handle driven with the multi-socket API and epoll, N easy
 * handles kept in flight (a finished one is re-added at once, so its connection is reused).
 *
 *   raw_multi_client URL INFLIGHT SECONDS WARMUP_SECONDS
 *
 * Counts the transfers that complete during SECONDS after WARMUP_SECONDS and prints
 * "requests N seconds S cpu C" (C: this process's CPU seconds in the window). Exit status 1 if
 * a transfer failed.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

static int epfd;
static double timer_at = -1.0; /* libcurl's timer: when to call it back (monotonic s), or none */

static double now_s(void);

static size_t discard(char *data, size_t size, size_t n, void *user) {
  (void)data;
  (void)user;
  return size * n;
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *user, void *sockp) {
  struct epoll_event ev;
  (void)e;
  (void)user;
  memset(&ev, 0, sizeof ev);
  ev.data.fd = s;
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, s, NULL);
    return 0;
  }
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
  if (epoll_ctl(epfd, sockp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0)
    epoll_ctl(epfd, sockp ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev);
  curl_multi_assign((CURLM *)user, s, (void *)1);
  return 0;
}

static int on_timer(CURLM *m, long ms, void *user) {
  (void)m;
  (void)user;
  timer_at = ms < 0 ? -1.0 : now_s() + (double)ms / 1e3;
  return 0;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s URL INFLIGHT SECONDS WARMUP_SECONDS\n", argv[0]);
    return 2;
  }
  const char *url = argv[1];
  const int inflight = atoi(argv[2]);
  const double seconds = atof(argv[3]);
  const double warmup = atof(argv[4]);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  CURLM *multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, multi);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
  for (int i = 0; i < inflight; ++i) {
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_multi_add_handle(multi, e);
  }
  const double start = now_s();
  const double window_start = start + warmup;
  const double window_end = window_start + seconds;
  long counted = 0;
  int failed = 0;
  int in_window = 0;
  double cpu_start = 0.0;
  struct epoll_event events[64];
  int running = 0;
  curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
  for (;;) {
    const double t = now_s();
    if (!in_window && t >= window_start) {
      in_window = 1;
      cpu_start = cpu_s();
      counted = 0;
    }
    if (t >= window_end) break;
    int wait = 100;
    if (timer_at >= 0.0) {
      const double left = timer_at - t;
      wait = left <= 0.0 ? 0 : (int)(left * 1e3) + 1;
    }
    const int n = epoll_wait(epfd, events, 64, wait);
    for (int i = 0; i < n; ++i) {
      const int mask = (events[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                       (events[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                       (events[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
      curl_multi_socket_action(multi, events[i].data.fd, mask, &running);
    }
    if (timer_at >= 0.0 && now_s() >= timer_at) { /* one-shot: libcurl sets the next one */
      timer_at = -1.0;
      curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL *e = msg->easy_handle;
      if (msg->data.result != CURLE_OK) {
        fprintf(stderr, "raw_multi_client: %s\n", curl_easy_strerror(msg->data.result));
        failed = 1;
      }
      ++counted;
      curl_multi_remove_handle(multi, e);
      curl_multi_add_handle(multi, e); /* again: the connection is reused */
    }
  }
  const double cpu = cpu_s() - cpu_start;
  printf("requests %ld seconds %.6f cpu %.6f\n", counted, now_s() - window_start, cpu);
  return failed;
}
