// From request_options + session_options to libcurl options on one easy handle.
//
// The one place that says what each field means to libcurl: URL (base URL, query parameters),
// method and body, headers, timeouts, redirects, proxy, TLS, HTTP version, decompression,
// cookies, authentication. Everything libcurl must read later (the URL, the body, the header
// list, the MIME tree, an upload file) is kept in the transfer's request_resources.
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <string>

#include "balrog/http/request.hpp"
#include "balrog/http/session.hpp"
#include "transfer/transfer.hpp"

namespace balrog::http::detail {

// How the body is received: kept (max bytes, 0: no limit) or streamed.
struct body_plan {
  transfer::body_mode mode;
  std::size_t max_bytes;
};
body_plan plan_body(const session_options& s, const request_options& r) noexcept;

// Sets every option of `t`'s easy handle. `share`: the session's (its cookie jar is used when
// s.cookies is on), or nullptr. Throws usage_error (two bodies, a header with a line break, an
// empty method), invalid_request (a malformed URL), io_error (an upload file that cannot be
// opened).
void configure(transfer& t, const session_options& s, CURLSH* share, std::string method,
               std::string url, request_options& r);

}  // namespace balrog::http::detail
