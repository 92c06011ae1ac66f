// What a tls_context handle shares: the SSL_CTX and the state its callbacks need.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "balrog/net/tls_stream.hpp"

namespace balrog::net {

struct tls_context::impl {
  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl();

  SSL_CTX* ctx = nullptr;
  bool server = false;
  bool verify_peer = true;  // client: verification is on (a server name is then required)
  std::string alpn_wire;    // server: its protocols, length-prefixed, for the select callback

  // Client session cache: the last session per "<server name>@<host:port>", least recently
  // stored dropped first. SSL_SESSION references are owned here.
  bool resumption = false;
  std::size_t cache_size = 0;

  // A new reference to the session kept for `key`, or nullptr.
  SSL_SESSION* find_session(const std::string& key);
  // Keeps `session` (takes the caller's reference) as the one for `key`.
  void store_session(const std::string& key, SSL_SESSION* session);

 private:
  std::mutex lock_;  // contexts are shared by streams of every shard
  std::list<std::pair<std::string, SSL_SESSION*>> sessions_;  // oldest first
  std::unordered_map<std::string, std::list<std::pair<std::string, SSL_SESSION*>>::iterator> index_;
};

namespace detail {
// The SSL ex_data slot holding a client connection's session-cache key (a std::string*,
// deleted with the SSL). -1 when OpenSSL could not make one (resumption is then off).
int session_key_index() noexcept;
}  // namespace detail

}  // namespace balrog::net
