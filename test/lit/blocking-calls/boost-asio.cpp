// The boost-asio map: Boost.Asio's and Boost.Beast's synchronous calls block the thread and
// have no twin, so each is reported (and fails --check) with what to use instead; the code is
// left as it is. Before the map none of them was rewritten or reported. The names are the
// declaring class templates' (tcp::socket::connect is basic_socket<tcp, any_io_executor>'s).
// Asynchronous operations are not reported, nor is what the calls do inside Boost's headers.
// Real Boost headers (libboost-dev 1.81).
// RUN: printf 'maps: [posix-net, posix-time, std-thread, boost-asio]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- %balrog_std_flags
// RUN: %not %balrog_gen --config-file=%t.balrog.yaml --check %s -- %balrog_std_flags 2>/dev/null
// RUN: %balrog_gen --config-file=%t.balrog.yaml --report=json %s -- %balrog_std_flags > %t.json
// RUN: %python -c "import json; d=json.load(open('%t.json')); c=d['calls']; assert d['total']==29, d['total']; assert {x['reason'] for x in c}=={'no-twin'} and {x['library'] for x in c}=={'boost-asio'}, c"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;

std::size_t client(asio::io_context& io, const char* host) {
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, "80");
  // CHECK-MESSAGES: :[[@LINE-1]]:29: warning: call to 'boost::asio::ip::basic_resolver::resolve' blocks the thread and has no balrog twin; a resolver's resolve() calls getaddrinfo on the calling thread: on a fiber use balrog::net::resolve (getaddrinfo on the offload pool), {{.*}} [blocking-calls]
  tcp::socket s(io);
  asio::connect(s, endpoints);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'connect' blocks the thread and has no balrog twin; Boost.Asio's synchronous calls wait inside Asio (a blocking system call or Asio's own reactor), where no balrog twin reaches: on a fiber use balrog::net {{.*}} [blocking-calls]
  s.connect(*endpoints.begin());
  // CHECK-MESSAGES: :[[@LINE-1]]:5: warning: call to 'boost::asio::basic_socket::connect' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  asio::write(s, asio::buffer("GET / HTTP/1.0\r\n\r\n", 18));
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'write' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  char buf[512];
  boost::system::error_code ec;
  std::size_t n = s.read_some(asio::buffer(buf), ec);
  // CHECK-MESSAGES: :[[@LINE-1]]:21: warning: call to 'boost::asio::basic_stream_socket::read_some' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  n += s.write_some(asio::buffer(buf, n));
  // CHECK-MESSAGES: :[[@LINE-1]]:10: warning: call to 'boost::asio::basic_stream_socket::write_some' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  n += asio::read(s, asio::buffer(buf), asio::transfer_exactly(4));
  // CHECK-MESSAGES: :[[@LINE-1]]:8: warning: call to 'read' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  asio::streambuf sb;
  n += asio::read_until(s, sb, "\r\n");
  // CHECK-MESSAGES: :[[@LINE-1]]:8: warning: call to 'read_until' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  s.wait(tcp::socket::wait_read);
  // CHECK-MESSAGES: :[[@LINE-1]]:5: warning: call to 'boost::asio::basic_socket::wait' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  // Asynchronous: never blocks (io_context::run does, below).
  s.async_read_some(asio::buffer(buf), [](boost::system::error_code, std::size_t) {});
  asio::async_write(s, asio::buffer(buf, 1), [](boost::system::error_code, std::size_t) {});
  return n;
}

void server(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(tcp::v4(), 0));
  tcp::socket peer = acceptor.accept();
  // CHECK-MESSAGES: :[[@LINE-1]]:31: warning: call to 'boost::asio::basic_socket_acceptor::accept' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  acceptor.accept(peer);
  // CHECK-MESSAGES: :[[@LINE-1]]:12: warning: call to 'boost::asio::basic_socket_acceptor::accept' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  asio::ip::udp::socket u(io, asio::ip::udp::endpoint(asio::ip::udp::v4(), 0));
  char b[16];
  asio::ip::udp::endpoint from;
  u.receive_from(asio::buffer(b), from);
  // CHECK-MESSAGES: :[[@LINE-1]]:5: warning: call to 'boost::asio::basic_datagram_socket::receive_from' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  u.send_to(asio::buffer(b), from);
  // CHECK-MESSAGES: :[[@LINE-1]]:5: warning: call to 'boost::asio::basic_datagram_socket::send_to' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
}

void loops(asio::io_context& io, asio::thread_pool& pool) {
  io.run();
  // CHECK-MESSAGES: :[[@LINE-1]]:6: warning: call to 'boost::asio::io_context::run' blocks the thread and has no balrog twin; io_context::run and its kin block the thread until the io_context runs out of work (or the time is up): on a fiber that stalls every fiber of the shard. {{.*}} [blocking-calls]
  io.run_one();
  // CHECK-MESSAGES: :[[@LINE-1]]:6: warning: call to 'boost::asio::io_context::run_one' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  io.run_for(std::chrono::milliseconds(10));
  // CHECK-MESSAGES: :[[@LINE-1]]:6: warning: call to 'boost::asio::io_context::run_for' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  io.poll();  // never waits
  asio::steady_timer t(io, std::chrono::seconds(1));
  t.wait();
  // CHECK-MESSAGES: :[[@LINE-1]]:5: warning: call to 'boost::asio::basic_waitable_timer::wait' blocks the thread and has no balrog twin; a timer's wait() blocks the thread: {{.*}} [blocking-calls]
  pool.join();
  // CHECK-MESSAGES: :[[@LINE-1]]:8: warning: call to 'boost::asio::thread_pool::join' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
}

void beast_http(beast::tcp_stream& stream, const tcp::endpoint& to) {
  stream.connect(to);
  // CHECK-MESSAGES: :[[@LINE-1]]:10: warning: call to 'boost::beast::basic_stream::connect' blocks the thread and has no balrog twin; beast::basic_stream (tcp_stream) {{.*}} [blocking-calls]
  http::request<http::string_body> req{http::verb::get, "/", 11};
  http::write(stream, req);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'write' blocks the thread and has no balrog twin; Boost.Beast's synchronous HTTP read / write wait in the stream's synchronous calls, {{.*}} use balrog::http {{.*}} [blocking-calls]
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'read' blocks the thread and has no balrog twin; Boost.Beast's {{.*}} [blocking-calls]
}

void beast_websocket(websocket::stream<tcp::socket>& ws, bool server) {
  if (server) {
    ws.accept();
    // CHECK-MESSAGES: :[[@LINE-1]]:8: warning: call to 'boost::beast::websocket::stream::accept' blocks the thread and has no balrog twin; Boost.Beast's synchronous WebSocket calls {{.*}} balrog::http::websocket {{.*}} [blocking-calls]
  } else {
    ws.handshake("localhost", "/");
    // CHECK-MESSAGES: :[[@LINE-1]]:8: warning: call to 'boost::beast::websocket::stream::handshake' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  }
  beast::flat_buffer buffer;
  ws.read(buffer);
  // CHECK-MESSAGES: :[[@LINE-1]]:6: warning: call to 'boost::beast::websocket::stream::read' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  ws.write(buffer.data());
  // CHECK-MESSAGES: :[[@LINE-1]]:6: warning: call to 'boost::beast::websocket::stream::write' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  ws.close(websocket::close_code::normal);
  // CHECK-MESSAGES: :[[@LINE-1]]:6: warning: call to 'boost::beast::websocket::stream::close' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
}

void tls(asio::ssl::stream<tcp::socket>& s) {
  s.handshake(asio::ssl::stream_base::client);
  // CHECK-MESSAGES: :[[@LINE-1]]:5: warning: call to 'boost::asio::ssl::stream::handshake' blocks the thread and has no balrog twin; the SSL stream's synchronous calls {{.*}} balrog::net::tls_connect {{.*}} [blocking-calls]
  char b[4];
  asio::read(s, asio::buffer(b));
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'read' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
  s.shutdown();
  // CHECK-MESSAGES: :[[@LINE-1]]:5: warning: call to 'boost::asio::ssl::stream::shutdown' blocks the thread and has no balrog twin; {{.*}} [blocking-calls]
}
