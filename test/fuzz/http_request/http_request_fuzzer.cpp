// libFuzzer target: the request path, bytes in → Beast's parser → limits → router → handler →
// response writer, through an in-memory transport (no sockets, no runtime).
//
// Input: the first byte picks how the transport cuts the rest into reads (whole, 1-byte,
// prime-sized pieces), so that every parser state meets a buffer boundary. Oracle beyond the
// sanitizers: whatever the input, the server's output must be a sequence of well-formed HTTP
// responses (checked with Beast's response parser; skipped when a HEAD request makes the
// framing depend on the request).
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "balrog/http/server.hpp"
#include "connection/connection.hpp"
#include "protocol/memory_transport.hpp"

namespace hs = balrog::http::server;

namespace {

const hs::router& fuzz_router() {
  static const hs::router r = [] {
    hs::router routes;
    routes.use(hs::request_id());
    routes.use(hs::access_log([](std::string_view) {}, hs::log_format::combined));
    routes.get("/", [](hs::request&) { return hs::response::text("root"); });
    routes.get("/items/{id}", [](hs::request& req) {
      return hs::response::text(std::string(req.param("id")) + req.query_param("q").value_or(""));
    });
    routes.get("/files/{path...}",
               [](hs::request& req) { return hs::response::text(std::string(req.param("path"))); });
    routes.post("/echo", [](hs::request& req) { return hs::response::text(req.body()); });
    routes.put("/json", [](hs::request& req) { return hs::response::json(req.json()); });
    routes.get("/stream", [](hs::request&) {
      return hs::response::stream(
          [](hs::chunk_writer& out) {
            out.write("a");
            out.write("bc");
          },
          "text/plain");
    });
    routes.get("/fail", [](hs::request&) -> hs::response { throw std::runtime_error("x"); });
    routes.websocket("/ws", [](hs::request&, balrog::http::websocket::connection&) {});
    return routes;
  }();
  return r;
}

const hs::options& fuzz_options() {
  static const hs::options o = [] {
    hs::options opts;
    opts.max_header_bytes = 4096;
    opts.max_header_fields = 32;
    opts.max_url_bytes = 1024;
    opts.max_body_bytes = 64 * 1024;
    opts.read_buffer_bytes = 512;
    opts.on_handler_error = [](const hs::request&, std::exception_ptr) {};
    return opts;
  }();
  return o;
}

class fuzz_host final : public hs::detail::connection_host {
 public:
  bool stopping() const noexcept override { return false; }
  std::shared_ptr<balrog::http::websocket::detail::core> take_for_websocket(
      std::string, const balrog::http::websocket::options&) override {
    return nullptr;
  }
};

std::vector<std::size_t> pieces_for(std::uint8_t mode, std::size_t size) {
  std::vector<std::size_t> pieces;
  switch (mode % 4) {
    case 0:
      break;  // as much as fits
    case 1:
      pieces.assign(size, 1);
      break;
    case 2:
      for (std::size_t n = 0; n < size; n += 7) pieces.push_back(7);
      break;
    default:
      for (std::size_t n = 0, step = 1; n < size; n += step, step = step * 3 % 61 + 1) {
        pieces.push_back(step);
      }
  }
  return pieces;
}

// Every byte the server wrote must belong to a well-formed response.
void check_responses(std::string_view out) {
  while (!out.empty()) {
    boost::beast::http::response_parser<boost::beast::http::string_body> p;
    p.body_limit(1 << 26);
    p.eager(true);
    boost::system::error_code ec;
    const std::size_t used = p.put(boost::asio::buffer(out.data(), out.size()), ec);
    if (ec == boost::beast::http::error::need_more || (!ec && !p.is_done())) {
      p.put_eof(ec);  // a close-delimited body (a stream to an HTTP/1.0 client)
      if (!ec && p.is_done()) return;
    }
    if (ec || used == 0) std::abort();  // the server wrote something that is not HTTP
    out.remove_prefix(used);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  hs::detail::memory_transport t(input, pieces_for(data[0], input.size()));
  fuzz_host host;
  hs::detail::connection c(t, fuzz_router(), fuzz_options(), host,
                           balrog::net::endpoint::loopback(1));
  (void)c.serve(/*may_park=*/false);
  if (input.find("HEAD") == std::string::npos) check_responses(t.output());
  return 0;
}
