// balrog/http/error.hpp — the base of what balrog::http throws, and the client's errors.
//
// Every HTTP client, server and WebSocket error derives from balrog::http::error (itself a
// balrog::error), so `catch (const balrog::http::error&)` catches them all. The subclasses live
// next to the part that throws them (the client's in this header, the server's and WebSocket's
// in theirs). Deadlines and fiber cancellation throw balrog::timeout_error and balrog::cancelled,
// as everywhere in balrog. The compat face (balrog::compat::curl_easy_perform) never throws: it
// returns CURLcode, as libcurl does.
//
// The client's errors, modelled on python-requests' exceptions:
//
//   error
//   ├── request_error          the request did not complete; curl_code() says what libcurl saw
//   │   ├── invalid_request    a malformed URL, an unsupported scheme, a bad option
//   │   ├── connection_error   unknown host, refused, reset, the peer hung up mid-body, a
//   │   │   │                  malformed response, a proxy failure
//   │   │   └── tls_error      handshake or certificate verification failed
//   │   ├── timeout            the request's own timeout, connect_timeout or idle_timeout
//   │   │   └── connect_timeout  libcurl's timeout struck before a connection was up
//   │   ├── too_many_redirects
//   │   └── body_too_large     the response body exceeded max_response_bytes
//   ├── status_error           raise_for_status() on a 4xx or 5xx response
//   └── decode_error           response::json() on a body that is not JSON
//
// An enclosing balrog::deadline_scope ends a request with balrog::timeout_error (not
// http::timeout: that one is the request's own limits), cancellation with balrog::cancelled.
#pragma once

#include <string>
#include <utility>

#include "balrog/errors.hpp"

namespace balrog::http {

class error : public balrog::error {
 public:
  using balrog::error::error;
};

// A request that did not complete. what() names the method and URL and gives libcurl's message
// ("balrog::http: GET http://127.0.0.1:1/: Couldn't connect to server (Failed to connect to
// 127.0.0.1 port 1 after 0 ms: Connection refused)").
class request_error : public error {
 public:
  request_error(const std::string& what_arg, int curl_code, std::string url)
      : error(what_arg), curl_code_(curl_code), url_(std::move(url)) {}
  // libcurl's CURLcode (CURLE_COULDNT_CONNECT...); 0 for errors balrog found itself.
  [[nodiscard]] int curl_code() const noexcept { return curl_code_; }
  // The URL requested (with the query parameters), not the one a redirect led to.
  [[nodiscard]] const std::string& url() const noexcept { return url_; }

 private:
  int curl_code_;
  std::string url_;
};

class invalid_request : public request_error {
 public:
  using request_error::request_error;
};

class connection_error : public request_error {
 public:
  using request_error::request_error;
};

class tls_error : public connection_error {
 public:
  using connection_error::connection_error;
};

class timeout : public request_error {
 public:
  using request_error::request_error;
};

// A timeout of libcurl's (connect_timeout, or the request's timeout) that struck while the
// name was resolved or the connection made: no connection was ever up for the request
// (python-requests' ConnectTimeout). An idle_timeout is never one.
class connect_timeout : public timeout {
 public:
  using timeout::timeout;
};

class too_many_redirects : public request_error {
 public:
  using request_error::request_error;
};

class body_too_large : public request_error {
 public:
  using request_error::request_error;
};

// A response with a 4xx or 5xx status, from response::raise_for_status().
class status_error : public error {
 public:
  status_error(const std::string& what_arg, int status, std::string url)
      : error(what_arg), status_(status), url_(std::move(url)) {}
  [[nodiscard]] int status() const noexcept { return status_; }
  // The URL that answered (after redirects).
  [[nodiscard]] const std::string& url() const noexcept { return url_; }

 private:
  int status_;
  std::string url_;
};

class decode_error : public error {
 public:
  using error::error;
};

}  // namespace balrog::http
