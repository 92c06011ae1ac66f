// balrog/http/compat/libcurl.hpp: where the call runs decides what it does.
#include "balrog/http/compat/libcurl.hpp"

#include <sys/select.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <new>
#include <vector>

#include "compat/fiber_multi.hpp"
#include "compat/wait_for_fd.hpp"

namespace balrog::compat {

namespace {

using detail::place;

// How long a multi wait looks at its fds before asking libcurl again (sockets libcurl cannot
// list through curl_multi_fdset, numbered FD_SETSIZE or more, are seen this late).
constexpr auto recheck_slice = std::chrono::milliseconds(10);

using multi_wait_fn = CURLMcode (*)(CURLM*, curl_waitfd[], unsigned int, int, int*);

// The fds to wait for: the multi handle's (curl_multi_fdset) and the caller's extra ones.
std::vector<pollfd> interests(CURLM* multi, const curl_waitfd* extra, unsigned int extra_nfds) {
  fd_set reads;
  fd_set writes;
  fd_set errors;
  FD_ZERO(&reads);
  FD_ZERO(&writes);
  FD_ZERO(&errors);
  int max_fd = -1;
  std::vector<pollfd> fds;
  if (curl_multi_fdset(multi, &reads, &writes, &errors, &max_fd) == CURLM_OK) {
    for (int fd = 0; fd <= max_fd; ++fd) {
      const short events = static_cast<short>((FD_ISSET(fd, &reads) ? POLLIN : 0) |
                                              (FD_ISSET(fd, &writes) ? POLLOUT : 0));
      if (events != 0) fds.push_back(pollfd{fd, events, 0});
    }
  }
  for (unsigned int i = 0; i < extra_nfds; ++i) {
    const short events =
        static_cast<short>(((extra[i].events & CURL_WAIT_POLLIN) != 0 ? POLLIN : 0) |
                           ((extra[i].events & CURL_WAIT_POLLPRI) != 0 ? POLLPRI : 0) |
                           ((extra[i].events & CURL_WAIT_POLLOUT) != 0 ? POLLOUT : 0));
    fds.push_back(pollfd{extra[i].fd, events, 0});
  }
  return fds;
}

// curl_multi_wait / curl_multi_poll on a fiber: libcurl's own function with a zero timeout
// says what is ready; between such calls the fiber waits on the reactor.
CURLMcode wait_on_fiber(multi_wait_fn original, CURLM* multi, curl_waitfd extra_fds[],
                        unsigned int extra_nfds, int timeout_ms, int* numfds) {
  int found = 0;
  CURLMcode code = original(multi, extra_fds, extra_nfds, 0, &found);
  if (code != CURLM_OK || found > 0 || timeout_ms <= 0) {
    if (numfds != nullptr) *numfds = found;
    return code;
  }
  // libcurl never waits past its own next timeout.
  long curl_timeout = -1;
  curl_multi_timeout(multi, &curl_timeout);
  const long wait_ms = curl_timeout >= 0 ? std::min<long>(curl_timeout, timeout_ms) : timeout_ms;
  const deadline end = std::chrono::milliseconds(wait_ms);
  try {
    for (;;) {
      const std::vector<pollfd> fds = interests(multi, extra_fds, extra_nfds);
      const deadline slice = earliest(end, deadline(recheck_slice));
      if (detail::wait_any(fds, slice) == detail::wait_status::failed) {
        found = 0;  // cancelled, deadline_scope: errno says which
        code = CURLM_OK;
        break;
      }
      code = original(multi, extra_fds, extra_nfds, 0, &found);
      if (code != CURLM_OK || found > 0 || end.expired()) break;
    }
  } catch (const std::bad_alloc&) {
    found = 0;
    code = CURLM_OUT_OF_MEMORY;
  }
  if (numfds != nullptr) *numfds = found;
  return code;
}

CURLMcode multi_wait(multi_wait_fn original, CURLM* multi, curl_waitfd extra_fds[],
                     unsigned int extra_nfds, int timeout_ms, int* numfds) {
  switch (detail::current_place()) {
    case place::thread:
      return original(multi, extra_fds, extra_nfds, timeout_ms, numfds);
    case place::coroutine:
      if (timeout_ms == 0) return original(multi, extra_fds, extra_nfds, 0, numfds);
      errno = EDEADLK;
      return CURLM_RECURSIVE_API_CALL;
    case place::fiber:
      break;
  }
  return wait_on_fiber(original, multi, extra_fds, extra_nfds, timeout_ms, numfds);
}

}  // namespace

CURLcode curl_easy_perform(CURL* easy) {
  switch (detail::current_place()) {
    case place::thread:
      return ::curl_easy_perform(easy);
    case place::coroutine:
      errno = EDEADLK;
      return CURLE_RECURSIVE_API_CALL;
    case place::fiber:
      break;
  }
  if (easy == nullptr) return CURLE_BAD_FUNCTION_ARGUMENT;  // as libcurl's
  return http::detail::fiber_multi::run(easy);
}

CURLMcode curl_multi_wait(CURLM* multi, curl_waitfd extra_fds[], unsigned int extra_nfds,
                          int timeout_ms, int* numfds) {
  return multi_wait(&::curl_multi_wait, multi, extra_fds, extra_nfds, timeout_ms, numfds);
}

CURLMcode curl_multi_poll(CURLM* multi, curl_waitfd extra_fds[], unsigned int extra_nfds,
                          int timeout_ms, int* numfds) {
  return multi_wait(&::curl_multi_poll, multi, extra_fds, extra_nfds, timeout_ms, numfds);
}

}  // namespace balrog::compat
