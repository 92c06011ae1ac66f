// balrog/http/error.hpp — the base of what balrog::http throws.
//
// Every HTTP client, server and WebSocket error derives from balrog::http::error (itself a
// balrog::error), so `catch (const balrog::http::error&)` catches them all. The subclasses live
// next to the part that throws them (the client's in this header, the server's and WebSocket's
// in theirs). Deadlines and fiber cancellation throw balrog::timeout_error and balrog::cancelled,
// as everywhere in balrog. The compat face (balrog::compat::curl_easy_perform) never throws: it
// returns CURLcode, as libcurl does.
#pragma once

#include "balrog/errors.hpp"

namespace balrog::http {

class error : public balrog::error {
 public:
  using balrog::error::error;
};

}  // namespace balrog::http
