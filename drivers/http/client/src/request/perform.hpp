// One request, start to finish: the coroutine every request function of the client runs.
#pragma once

#include <memory>
#include <string>

#include "balrog/http/request.hpp"
#include "balrog/http/response.hpp"
#include "balrog/task.hpp"

namespace balrog::http::detail {

struct session_state;
class transfer;

// Runs `method url` with `options` on this thread's multi handle, with the settings (and
// cookie jar) of `session`, or the defaults when it is null. The session is kept alive until
// the request ends.
task<response> perform(std::shared_ptr<session_state> session, std::string method, std::string url,
                       request_options options);

// Fills responses in (response's members are private).
struct response_access {
  // From a finished transfer: status, headers, body, URL, timing.
  static response from_finished(transfer& t);
  // From a transfer whose headers are in and whose body is still coming: it moves into the
  // response.
  static response from_streaming(std::unique_ptr<transfer> t);

 private:
  static void fill(response& r, transfer& t);  // what both kinds take from the transfer
};

}  // namespace balrog::http::detail
