// websocket_send(): a WebSocket client written on blocking POSIX sockets (getaddrinfo, socket,
// connect, send, recv, close). In the wrapped build balrog-gen's posix-net and posix-dns maps
// rewrite the calls that wait, so each connection suspends its fiber instead of the thread.
#include "websocket_client.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>

namespace {

std::string base64(const unsigned char* data, std::size_t n) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < n; i += 3) {
    const unsigned v =
        (data[i] << 16) | (i + 1 < n ? data[i + 1] << 8 : 0) | (i + 2 < n ? data[i + 2] : 0);
    out += digits[(v >> 18) & 63];
    out += digits[(v >> 12) & 63];
    out += i + 1 < n ? digits[(v >> 6) & 63] : '=';
    out += i + 2 < n ? digits[v & 63] : '=';
  }
  return out;
}

std::string os_error(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Writes all of `data` (send may write part of it).
bool send_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads more bytes into `buf`; false at EOF or on an error.
bool receive_more(int fd, std::string& buf) {
  char chunk[4096];
  for (;;) {
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

// One client frame: FIN, the opcode, masked with a random key (clients must mask).
std::string frame(unsigned opcode, const std::string& payload, std::mt19937& random) {
  std::string f;
  f += static_cast<char>(0x80 | opcode);
  const std::size_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n <= 0xffff) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>((n >> shift) & 0xff);
  }
  std::array<char, 4> mask{};
  for (char& m : mask) m = static_cast<char>(random() & 0xff);
  f.append(mask.data(), mask.size());
  for (std::size_t i = 0; i < n; ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

// Reads frames until the server's close frame; false if the connection ends first.
bool await_close(int fd, std::string& buf) {
  for (;;) {
    while (buf.size() >= 2) {
      const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(buf[i]); };
      const unsigned opcode = byte(0) & 0x0f;
      std::size_t header = 2;
      std::uint64_t length = byte(1) & 0x7f;
      if (length == 126) {
        if (buf.size() < 4) break;
        length = (byte(2) << 8) | byte(3);
        header = 4;
      } else if (length == 127) {
        if (buf.size() < 10) break;
        length = 0;
        for (std::size_t i = 2; i < 10; ++i) length = (length << 8) | byte(i);
        header = 10;
      }
      if ((byte(1) & 0x80) != 0) header += 4;  // servers do not mask; skip a key if one is there
      if (buf.size() < header + length) break;
      if (opcode == 0x8) return true;
      buf.erase(0, header + length);  // anything else the server sends is not for us
    }
    if (!receive_more(fd, buf)) return false;
  }
}

}  // namespace

std::string websocket_send(const std::string& host, const std::string& port,
                           const std::string& target, const std::string& text) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &addresses); rc != 0) {
    return std::string("getaddrinfo: ") + gai_strerror(rc);
  }
  int fd = -1;
  for (addrinfo* a = addresses; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(addresses);
  if (fd < 0) return os_error("connect");

  std::random_device seed;
  std::mt19937 random(seed());
  std::array<unsigned char, 16> nonce{};
  for (unsigned char& b : nonce) b = static_cast<unsigned char>(random() & 0xff);
  const std::string handshake = "GET " + target + " HTTP/1.1\r\nHost: " + host + ":" + port +
                                "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Key: " +
                                base64(nonce.data(), nonce.size()) +
                                "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  std::string error;
  std::string buf;
  std::size_t end = std::string::npos;
  if (!send_all(fd, handshake)) {
    error = os_error("send");
  } else {
    while ((end = buf.find("\r\n\r\n")) == std::string::npos && buf.size() < 16384) {
      if (!receive_more(fd, buf)) break;
    }
    if (end == std::string::npos) {
      error = "no handshake response";
    } else if (buf.compare(0, 13, "HTTP/1.1 101 ") != 0) {
      error = "handshake refused: " + buf.substr(0, buf.find("\r\n"));
    }
  }
  if (error.empty()) {
    buf.erase(0, end + 4);  // frames the server sent right after its response
    const std::string close_payload = {'\x03', '\xe8'};  // 1000: normal closure
    if (!send_all(fd, frame(0x1, text, random)) ||
        !send_all(fd, frame(0x8, close_payload, random))) {
      error = os_error("send");
    } else if (!await_close(fd, buf)) {
      error = "the server did not answer the close frame";
    }
  }
  close(fd);
  return error;
}
