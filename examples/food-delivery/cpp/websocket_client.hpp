// A minimal blocking WebSocket client (RFC 6455, client side): plain POSIX sockets, the way a
// program without a WebSocket library would write it.
#pragma once

#include <string>

// Connects to host:port, upgrades `target` ("/ws?customer=7") to a WebSocket, sends `text` as
// one text message, closes (the close handshake: it waits for the server's close frame) and
// returns "". On failure returns what went wrong.
std::string websocket_send(const std::string& host, const std::string& port,
                           const std::string& target, const std::string& text);
