#include "support/memory_connection.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace balrog::http::server::test {

std::vector<parsed_response> split_responses(std::string_view bytes) {
  // Beast's response parser, fed until each message is done. A HEAD response cannot be told
  // apart from here: tests of HEAD look at the raw bytes instead.
  std::vector<parsed_response> out;
  while (!bytes.empty()) {
    boost::beast::http::response_parser<boost::beast::http::string_body> p;
    p.body_limit(1 << 30);
    p.eager(true);
    boost::system::error_code ec;
    std::size_t used = 0;
    used = p.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == boost::beast::http::error::need_more || (!ec && !p.is_done())) {
      p.put_eof(ec);
    }
    parsed_response r;
    r.status = p.get().result_int();
    r.head = std::string(bytes.substr(0, bytes.find("\r\n\r\n")));
    r.body = p.get().body();
    out.push_back(std::move(r));
    if (used == 0) break;
    bytes.remove_prefix(used);
    if (ec) break;
  }
  return out;
}

}  // namespace balrog::http::server::test
