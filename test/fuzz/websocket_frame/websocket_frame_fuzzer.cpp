// libFuzzer target: the WebSocket frame path. A server-side connection (Beast's framing over
// the adapter and core of balrog's WebSocket) reads the fuzzer's bytes as the frames a client
// sent — masking, fragmentation, control frames, UTF-8 validation, close codes, message size
// limits, and, when the first input byte's low bit is set, permessage-deflate's inflater.
//
// The bytes travel through a socketpair (the core owns a real socket); the run is in sync mode
// (no runtime), with no timers: receive() runs until the input ends, the peer's close, or a
// protocol error. Frames the server sends back (pongs, the close answer) stay unread in the
// socket buffer, which is far larger than anything the input can provoke (max_len 16 KiB).
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "balrog/errors.hpp"
#include "balrog/http/websocket.hpp"
#include "balrog/net/stream.hpp"
#include "websocket/core.hpp"

namespace ws = balrog::http::websocket;

namespace {

balrog::http::server::request::message_type upgrade_request(bool deflate) {
  balrog::http::server::request::message_type req{boost::beast::http::verb::get, "/ws", 11};
  req.set(boost::beast::http::field::host, "fuzz");
  req.set(boost::beast::http::field::connection, "Upgrade");
  req.set(boost::beast::http::field::upgrade, "websocket");
  req.set(boost::beast::http::field::sec_websocket_version, "13");
  req.set(boost::beast::http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  if (deflate) {
    req.set(boost::beast::http::field::sec_websocket_extensions,
            "permessage-deflate; client_max_window_bits");
  }
  return req;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 16384) return 0;
  const bool deflate = (data[0] & 1) != 0;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
  // The client's side: everything at once, then the end of the stream.
  if (::send(sv[1], data + 1, size - 1, MSG_NOSIGNAL) != static_cast<ssize_t>(size - 1)) {
    std::abort();
  }
  ::shutdown(sv[1], SHUT_WR);
  {
    ws::options o;
    o.max_message_bytes = 64 * 1024;
    o.ping_interval = std::chrono::milliseconds(0);
    o.idle_timeout = std::chrono::milliseconds(0);
    o.close_timeout = std::chrono::milliseconds(0);
    o.permessage_deflate = deflate;
    auto core = ws::detail::core::make_server(balrog::net::stream(sv[0]), {}, o);
    const balrog::http::server::response::message_type no_extra;
    if (core->accept(upgrade_request(deflate), no_extra)) {
      ws::connection c(core);
      try {
        while (auto m = c.receive()) {
          if (m->is_text() && m->data.size() > o.max_message_bytes) std::abort();
        }
      } catch (const balrog::error&) {
        // protocol errors, the stream's end without a close frame: what bad input earns
      }
    }
  }
  ::close(sv[1]);
  return 0;
}
