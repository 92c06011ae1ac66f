// Runs the server's connection loop over memory: bytes in, what the server wrote out.
#pragma once

#include <string>
#include <vector>

#include "balrog/http/server/options.hpp"
#include "balrog/http/server/router.hpp"
#include "connection/connection.hpp"
#include "protocol/memory_transport.hpp"

namespace balrog::http::server::test {

class memory_host final : public detail::connection_host {
 public:
  bool stopping() const noexcept override { return stopping_; }
  std::shared_ptr<websocket::detail::core> take_for_websocket(
      std::string /*leftover*/, const websocket::options& /*options*/) override {
    return nullptr;
  }
  bool stopping_ = false;
};

// Serves `input` (read in `pieces`, if given) with `r` and returns everything written back.
inline std::string serve_bytes(const router& r, std::string input, const options& o = {},
                               std::vector<std::size_t> pieces = {}) {
  detail::memory_transport t(std::move(input), std::move(pieces));
  memory_host host;
  detail::connection c(t, r, o, host, net::endpoint::loopback(4242));
  (void)c.serve(/*may_park=*/false);
  return t.output();
}

// Splits a byte stream of responses at their ends (Content-Length, or the chunked coding's
// last chunk, or the end of the stream): crude, for tests only.
struct parsed_response {
  unsigned status = 0;
  std::string head;  // status line and fields
  std::string body;  // as sent (chunked coding not removed)
};
std::vector<parsed_response> split_responses(std::string_view bytes);

}  // namespace balrog::http::server::test
