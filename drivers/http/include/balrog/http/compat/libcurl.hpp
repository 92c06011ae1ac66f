// balrog/http/compat/libcurl.hpp — libcurl's blocking calls, with libcurl's own signatures and
// semantics, made safe to call on a fiber. Part of balrog::http (link balrog::http).
//
// balrog-gen's `libcurl` API map (passes/maps/libcurl.yaml) rewrites calls of
// curl_easy_perform, curl_multi_wait and curl_multi_poll in existing synchronous code to these
// functions. Each keeps libcurl's contract — the same CURLcode / CURLMcode, every CURLOPT the
// handle carries, the error buffer, the callbacks and their return values — and differs only in
// what waits:
//
//  - Plain thread (no balrog scheduler on this thread: sync mode): libcurl's function itself is
//    called, bit for bit.
//  - On a fiber, curl_easy_perform runs the transfer exactly as libcurl's own does — with a
//    multi handle of its own for the duration — but drives it with the multi-socket API and
//    waits for its sockets and timer on the shard's reactor: the fiber suspends, the shard's
//    other fibers run. Every callback of the handle (write, read, header, progress/xferinfo,
//    debug, seek, sockopt...) runs on the calling fiber, inside libcurl as usual, so a callback
//    may itself block balrog-style (lock a balrog::mutex, push into a channel, run a query):
//    only this fiber waits. The multi handles (and the connections they cache) are pooled per
//    thread and preferably given back to the same easy handle, so reusing an easy handle reuses
//    its connection as with libcurl, and a new easy handle may find a connection another one
//    left.
//  - curl_multi_wait / curl_multi_poll on a fiber wait for the multi handle's sockets, the
//    extra fds and libcurl's timer on the reactor, then let libcurl's own function report what
//    is ready (a zero-timeout call), so numfds, extra_fds[].revents and the return code are
//    libcurl's. The wait is bounded by libcurl's own next timeout, as in libcurl. Sockets
//    numbered FD_SETSIZE (1024) or above, which libcurl does not list through
//    curl_multi_fdset, are noticed within 10 ms.
//  - Inside C++20 coroutine code, a call that would have to wait returns at once with
//    CURLE_RECURSIVE_API_CALL (CURLM_RECURSIVE_API_CALL) and errno EDEADLK instead of stalling
//    the shard. Use balrog::http's co_await API there.
//
// On a fiber, cancellation (balrog::fiber::cancel) and an enclosing deadline_scope end a wait
// the C way: curl_easy_perform stops the transfer and returns CURLE_ABORTED_BY_CALLBACK
// (cancelled, errno ECANCELED) or CURLE_OPERATION_TIMEDOUT (deadline, errno ETIMEDOUT); the
// multi waits return CURLM_OK early with *numfds 0 and errno set. Nothing here throws.
//
// Differences from libcurl on a fiber (docs/http.md): CURLOPT_CONNECT_ONLY transfers
// cannot be continued with curl_easy_send / curl_easy_recv afterwards (the connection stays in
// balrog's multi handle, which those functions do not look in); curl_multi_wakeup does not end
// a curl_multi_poll early (libcurl's zero-timeout call consumes the wake-up without saying so):
// the poll returns at its timeout or when something is ready.
#pragma once

#include <curl/curl.h>

namespace balrog::compat {

CURLcode curl_easy_perform(CURL* easy);

CURLMcode curl_multi_wait(CURLM* multi, curl_waitfd extra_fds[], unsigned int extra_nfds,
                          int timeout_ms, int* numfds);
CURLMcode curl_multi_poll(CURLM* multi, curl_waitfd extra_fds[], unsigned int extra_nfds,
                          int timeout_ms, int* numfds);

}  // namespace balrog::compat
