// balrog/http/server/middleware.hpp — ready-made middleware: access log, request ids.
//
//   hs::router r;
//   r.use(hs::request_id());                     // first: the log line can carry the id
//   r.use(hs::access_log(std::cout));
//
// Middleware is `response(request&, const next&)` (router.hpp): it sees every request the
// router answers, 404s, 405s and 500s included (a handler's exception has become its 500 by
// then), but not requests the server refused before routing (malformed, over a limit, too
// slow: 400, 408, 413, 414, 431), which never became requests.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>

#include "balrog/http/server/router.hpp"

namespace balrog::http::server {

enum class log_format {
  // NCSA Common Log Format:
  //   127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a.gif HTTP/1.1" 200 2326
  common,
  // Combined: common plus "Referer" and "User-Agent".
  combined,
};

// Logs one line per request once the handler has answered (before the body is sent; a
// streamed body's size is "-"). Times are UTC. Bytes of the request line the client chose
// (quotes, control characters, non-ASCII) are written as \xHH, so a line cannot be forged.
// With request_id() before it, the request's id is appended as a last field ("rid=<id>").
// `sink` gets the line without a newline; it runs on the connection's fiber, possibly on
// several shards at once, so it must be thread-safe.
[[nodiscard]] middleware access_log(std::function<void(std::string_view line)> sink,
                                    log_format format = log_format::common);
// Writes each line and a '\n' to `out` (which must outlive the router), one line at a time
// across fibers and shards (a balrog::mutex). A slow `out` blocks the shard while it writes.
[[nodiscard]] middleware access_log(std::ostream& out, log_format format = log_format::common);

// Gives every request an id, kept in request::id() and sent back in the `header` response
// field: the client's own (from that request field) when it is 1 to 128 visible ASCII
// characters, else 32 fresh random hex digits (128 bits).
[[nodiscard]] middleware request_id(std::string header = "X-Request-Id");

}  // namespace balrog::http::server
