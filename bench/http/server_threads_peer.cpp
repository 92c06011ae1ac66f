// bench_http_server_threads — the thread-per-connection peer of area `http`'s server cases:
// what one writes without balrog, on the same Beast parser and serializer. Blocking sockets,
// an accept loop, a std::thread per connection that reads into a buffer, feeds Beast's
// request_parser, and writes each serialized response with one write(2).
//
//   bench_http_server_threads [--port P]      prints "ready <port>", serves until killed
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

namespace http = boost::beast::http;

namespace {

void serve(int fd) {
  std::string in;
  std::string out;
  char buf[16384];
  for (;;) {
    http::request_parser<http::string_body> parser;
    boost::system::error_code ec;
    std::size_t used = 0;
    while (!parser.is_done()) {
      if (!in.empty()) {
        used = parser.put(boost::asio::buffer(in), ec);
        in.erase(0, used);
        if (ec && ec != http::error::need_more) {
          ::close(fd);
          return;
        }
        if (parser.is_done()) break;
      }
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fd);
        return;
      }
      in.append(buf, static_cast<std::size_t>(n));
    }
    const auto& req = parser.get();
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::server, "threads");
    res.set(http::field::content_type, "text/plain");
    res.body() = req.target() == "/plaintext" ? "Hello, World!" : "";
    if (req.target() != "/plaintext") res.result(http::status::not_found);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    http::serializer<false, http::string_body> sr{res};
    out.clear();
    while (!sr.is_done()) {
      sr.next(ec, [&](boost::system::error_code& e, const auto& buffers) {
        e = {};
        std::size_t n = 0;
        for (const auto b : boost::beast::buffers_range_ref(buffers)) {
          out.append(static_cast<const char*>(b.data()), b.size());
          n += b.size();
        }
        sr.consume(n);
      });
    }
    for (std::size_t sent = 0; sent < out.size();) {
      const ssize_t n = ::write(fd, out.data() + sent, out.size() - sent);
      if (n <= 0) {
        ::close(fd);
        return;
      }
      sent += static_cast<std::size_t>(n);
    }
    if (!req.keep_alive()) break;
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint16_t port = 0;
  if (argc == 3 && std::strcmp(argv[1], "--port") == 0) {
    port = static_cast<std::uint16_t>(std::strtoul(argv[2], nullptr, 10));
  }
  const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(l, 4096) != 0) {
    std::perror("bind/listen");
    return 1;
  }
  socklen_t len = sizeof a;
  ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  std::printf("ready %u\n", ntohs(a.sin_port));
  std::fflush(stdout);
  for (;;) {
    const int fd = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::thread([fd] { serve(fd); }).detach();
  }
}
