// balrog/http/server/errors.hpp — what the HTTP server throws, and what handlers may throw.
//
//   r.get("/orders/{id}", [](hs::request& req) {
//     auto order = find_order(req.param("id"));
//     if (!order) throw hs::http_error(hs::status::not_found, "no such order");
//     return hs::response::json(to_json(*order));
//   });
//
// A handler answers with an error status by returning a response, or by throwing http_error:
// the connection then answers with that status and the message as a text/plain body, and the
// connection stays open. Any other exception escaping a handler becomes a 500 (the exception
// is reported through options::on_handler_error, not shown to the client). balrog::cancelled
// is not an answer: it ends the connection's fiber (the server is shutting down).
//
// The server's own calls (listen, shutdown) throw balrog::io_error for the sockets (errno in
// code()), balrog::usage_error for misuse (listen twice, a router changed while serving), and
// nothing of this file.
#pragma once

#include <ostream>  // before Beast: boost/core/detail/string_view.hpp needs it complete

#include <boost/beast/http/status.hpp>
#include <string>

#include "balrog/http/error.hpp"

namespace balrog::http::server {

using status = boost::beast::http::status;

// An HTTP error status with a message for the client. Thrown by handlers (and by
// request::json() for a body that is not JSON: 400), answered by the connection.
class http_error : public http::error {
 public:
  // `code` should be a 4xx or 5xx status; `message` becomes the response's text/plain body
  // (empty: the status's reason phrase).
  http_error(status code, std::string message);
  [[nodiscard]] status code() const noexcept { return code_; }
  // The body sent to the client (what() also names the status).
  [[nodiscard]] const std::string& message() const noexcept { return message_; }

 private:
  status code_;
  std::string message_;
};

}  // namespace balrog::http::server
