// balrog/http/websocket/options.hpp — a WebSocket's limits, timeouts and compression.
//
// One struct for both ends (the server's router::websocket() and the client's connect()).
// The defaults follow Python's `websockets` (ping every 20 s, 1 MiB messages).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "balrog/net/tls_stream.hpp"

namespace balrog::http::websocket {

struct options {
  // The largest message receive() accepts, after reassembling fragments and decompressing.
  // A larger one fails the connection with close code 1009 (message too big) and receive()
  // throws protocol_error. Costs up to this much memory per receiving connection. Zero is
  // refused (usage_error).
  std::size_t max_message_bytes = 1024 * 1024;
  // After this long without a byte from the peer, a ping is sent (the peer's pong, like any
  // frame, proves it alive). Zero: no pings.
  std::chrono::milliseconds ping_interval = std::chrono::seconds(20);
  // A peer silent this long (no frame at all, pongs included) is dropped: receive() throws
  // timeout_error. Zero: wait forever.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  // The longest one write of a frame may wait for the peer to take bytes; every byte taken
  // restarts the wait. When it passes the connection fails and send() throws timeout_error.
  std::chrono::milliseconds write_timeout = std::chrono::seconds(30);
  // Client: connecting and the HTTP upgrade together. Server: the upgrade's 101 answer (the
  // request itself is bounded by the HTTP server's header_timeout).
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(10);
  // How long close() waits for the peer to answer the close frame (reading and dropping the
  // messages still in flight) before it drops the connection anyway.
  std::chrono::milliseconds close_timeout = std::chrono::seconds(5);
  // Offer (client) or accept (server) permessage-deflate (RFC 7692), Beast's implementation.
  // Compressed connections cost about 300 KiB more memory each (zlib's windows) and CPU per
  // message; worth it for large, repetitive text.
  bool permessage_deflate = false;
  // With permessage_deflate: messages smaller than this are sent uncompressed.
  std::size_t deflate_threshold = 256;
  // Client: the subprotocol to ask for (Sec-WebSocket-Protocol); empty: none.
  std::string subprotocol{};
  // Client, wss:// URLs: the TLS context, net::tls_context::client(...) (ca_file for a private
  // CA, a client certificate, ALPN; balrog/net/tls_stream.hpp). Build it once and reuse it: it
  // holds the loaded CA store and the session cache (reconnects resume their sessions). Empty
  // (the default): one process-wide client context, verification on against the system CA
  // store, built on first use. The server side's TLS is the HTTP server's
  // (server::options::tls).
  net::tls_context tls{};
};

}  // namespace balrog::http::websocket
