// A TCP proxy on loopback that injects network faults between a client and a server (a small
// toxiproxy for tests; header-only).
//
//   balrog::test::tcp_fault_proxy proxy(server_port);   // listens on 127.0.0.1:proxy.port()
//   connect to "host=127.0.0.1 port=" + std::to_string(proxy.port())
//   proxy.blackhole(true);          // a partition: nothing passes, nobody is told
//   proxy.set_delay(50ms);          // every chunk arrives 50 ms late, both directions
//   proxy.reset_all();              // every open connection gets a TCP RST, both sides
//   proxy.cut_after_server_bytes(n) // n more bytes reach clients, then both sides are closed
//                                   // (a connection lost in the middle of a message)
//   proxy.cut_after_client_sends("COMMIT")  // once a client sends bytes containing the
//                                   // pattern, they reach the server (then a FIN), but the
//                                   // client's side is closed before any reply reaches it
//
// The proxy runs on its own plain thread (poll(2)), independent of balrog's runtime, so it keeps
// working whatever the code under test does. Every connection a client opens gets its own
// connection to the server. Faults apply to the connections open when they are set and to
// later ones, until changed. Blackholing stops reading on both sides: data piles up in the
// kernel's buffers, as with a silent network, and flows again when the blackhole ends.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace balrog::test {

class tcp_fault_proxy {
 public:
  using clock = std::chrono::steady_clock;

  explicit tcp_fault_proxy(std::uint16_t server_port) : server_port_(server_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listener_ < 0) throw std::runtime_error("tcp_fault_proxy: socket failed");
    sockaddr_in a = loopback(0);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listener_, 128) != 0) {
      ::close(listener_);
      throw std::runtime_error("tcp_fault_proxy: bind/listen failed");
    }
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    thread_ = std::thread([this] { loop(); });
  }
  tcp_fault_proxy(const tcp_fault_proxy&) = delete;
  tcp_fault_proxy& operator=(const tcp_fault_proxy&) = delete;
  ~tcp_fault_proxy() {
    stop_ = true;
    poke();
    thread_.join();
    for (auto& c : conns_) c->close_both(false);
    ::close(listener_);
    ::close(wake_);
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // Connections accepted so far, and those still open.
  [[nodiscard]] int accepted() const noexcept { return accepted_; }
  [[nodiscard]] int open_connections() const noexcept { return open_; }

  void set_delay(std::chrono::milliseconds d) {
    apply([&] { delay_ = d; });
  }
  void blackhole(bool on) {
    apply([&] { blackhole_ = on; });
  }
  void reset_all() {
    apply([&] { reset_pending_ = true; });
  }
  void cut_after_server_bytes(std::size_t n) {
    apply([&] { cut_after_server_bytes_ = n; });
  }
  void cut_after_client_sends(std::string pattern) {
    apply([&] { cut_pattern_ = std::move(pattern); });
  }
  // Back to a clean pipe (no delay, no blackhole, no pending cut).
  void heal() {
    apply([&] {
      delay_ = {};
      blackhole_ = false;
      cut_after_server_bytes_ = npos;
      cut_pattern_.clear();
    });
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_buffered = 1 << 20;  // per direction, then stop reading

  struct chunk {
    clock::time_point due;
    std::string data;
  };
  // One direction of one connection: bytes read from `from`, waiting to be written to `to`.
  struct pipe {
    std::deque<chunk> pending;
    std::size_t buffered = 0;
    std::size_t written = 0;  // of pending.front()
  };
  struct connection {
    int client = -1;
    int server = -1;
    pipe up;                             // client -> server
    pipe down;                           // server -> client
    bool close_after_up_drains = false;  // the cut pattern went by: close once it is delivered
    bool draining_server = false;        // the client is gone; the server reads to its end
    std::string pattern_tail;            // the end of what the client sent, for matching
    void close_both(bool reset) {
      for (int* fd : {&client, &server}) {
        if (*fd < 0) continue;
        if (reset) {
          const linger l{1, 0};
          ::setsockopt(*fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
        ::close(*fd);
        *fd = -1;
      }
    }
  };

  static sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }

  template <class F>
  void apply(F change) {
    {
      std::lock_guard lock(mutex_);
      change();
    }
    poke();
  }
  void poke() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
  }

  void accept_all() {
    for (;;) {
      const int c = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0) return;
      const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a = loopback(server_port_);
      if (s < 0 || ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        if (s >= 0) ::close(s);
        ::close(c);
        continue;
      }
      ::fcntl(s, F_SETFL, ::fcntl(s, F_GETFL) | O_NONBLOCK);
      auto conn = std::make_unique<connection>();
      conn->client = c;
      conn->server = s;
      conns_.push_back(std::move(conn));
      ++accepted_;
    }
  }

  // Reads what `from` has into `p`; false when the peer closed or failed.
  bool read_into(int from, pipe& p, connection& c, bool upstream) {
    char buf[65536];
    const ssize_t n = ::recv(from, buf, sizeof buf, 0);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    std::string data(buf, static_cast<std::size_t>(n));
    std::lock_guard lock(mutex_);
    if (upstream && !cut_pattern_.empty() && !c.close_after_up_drains) {
      const std::string window = c.pattern_tail + data;
      if (window.find(cut_pattern_) != std::string::npos) {
        c.close_after_up_drains = true;
        cut_pattern_.clear();
      }
      const std::size_t keep = std::min(window.size(), std::size_t{256});
      c.pattern_tail = window.substr(window.size() - keep);
    }
    if (!upstream && cut_after_server_bytes_ != npos) {
      if (data.size() >= cut_after_server_bytes_) {
        data.resize(cut_after_server_bytes_);
        cut_after_server_bytes_ = npos;
        p.pending.push_back({clock::now(), std::move(data)});
        p.buffered += p.pending.back().data.size();
        flush(c.client, p);
        return false;  // the rest never arrives: close both sides
      }
      cut_after_server_bytes_ -= data.size();
    }
    if (!upstream && c.close_after_up_drains) return true;  // replies are dropped
    p.buffered += data.size();
    p.pending.push_back({clock::now() + delay_, std::move(data)});
    return true;
  }

  // Writes what is due; false when the destination failed.
  static bool flush(int to, pipe& p) {
    const auto now = clock::now();
    while (!p.pending.empty() && p.pending.front().due <= now) {
      chunk& front = p.pending.front();
      const ssize_t n =
          ::send(to, front.data.data() + p.written, front.data.size() - p.written, MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      p.written += static_cast<std::size_t>(n);
      if (p.written < front.data.size()) return true;
      p.buffered -= front.data.size();
      p.written = 0;
      p.pending.pop_front();
    }
    return true;
  }

  void loop() {
    while (!stop_) {
      bool blackholed = false;
      bool reset = false;
      {
        std::lock_guard lock(mutex_);
        blackholed = blackhole_;
        reset = std::exchange(reset_pending_, false);
      }
      if (reset) {
        for (auto& c : conns_) c->close_both(true);
      }
      // Deliver what is due, close what is finished.
      for (auto& c : conns_) {
        if (c->client < 0) continue;
        const bool ok = blackholed || (flush(c->server, c->up) && flush(c->client, c->down));
        if (!ok) {
          c->close_both(false);
        } else if (c->close_after_up_drains && c->up.pending.empty()) {
          // The client hears nothing more. The server gets a FIN after the data and is read
          // (and ignored) to its end: closing with unread input would send it a RST, which
          // may throw away what it has not read yet.
          ::close(c->client);
          c->client = -1;
          ::shutdown(c->server, SHUT_WR);
          c->draining_server = true;
        }
      }
      std::erase_if(conns_, [](const auto& c) { return c->client < 0 && c->server < 0; });
      open_ = static_cast<int>(conns_.size());

      std::vector<pollfd> fds{{wake_, POLLIN, 0}, {listener_, POLLIN, 0}};
      auto next_due = clock::time_point::max();
      for (auto& c : conns_) {
        short up = 0;
        short down = 0;
        if (c->draining_server) {
          down = POLLIN;
        } else if (!blackholed) {
          if (c->up.buffered < max_buffered) up |= POLLIN;
          if (c->down.buffered < max_buffered) down |= POLLIN;
          for (pipe* p : {&c->up, &c->down}) {
            if (p->pending.empty()) continue;
            const auto due = p->pending.front().due;
            if (due <= clock::now()) {
              (p == &c->up ? down : up) |= POLLOUT;  // up is written to the server
            } else {
              next_due = std::min(next_due, due);
            }
          }
        }
        fds.push_back({c->client, up, 0});
        fds.push_back({c->server, down, 0});
      }
      int timeout = 200;
      if (next_due != clock::time_point::max()) {
        const auto left =
            std::chrono::ceil<std::chrono::milliseconds>(next_due - clock::now()).count();
        timeout = static_cast<int>(std::clamp<long long>(left, 0, 200));
      }
      if (::poll(fds.data(), fds.size(), timeout) < 0) continue;
      if ((fds[0].revents & POLLIN) != 0) {
        std::uint64_t n = 0;
        [[maybe_unused]] auto r = ::read(wake_, &n, sizeof n);
      }
      if ((fds[1].revents & POLLIN) != 0) accept_all();
      for (std::size_t i = 0; i + 2 < fds.size() && i / 2 < conns_.size(); i += 2) {
        connection& c = *conns_[i / 2];
        if (c.draining_server) {
          if ((fds[i + 3].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            char sink[65536];
            if (::recv(c.server, sink, sizeof sink, 0) <= 0) c.close_both(false);
          }
          continue;
        }
        if (c.client < 0 || blackholed) continue;
        const short from_client = fds[i + 2].revents;
        const short from_server = fds[i + 3].revents;
        bool alive = true;
        if ((from_client & (POLLIN | POLLHUP | POLLERR)) != 0) {
          alive = read_into(c.client, c.up, c, true);
        }
        if (alive && (from_server & (POLLIN | POLLHUP | POLLERR)) != 0) {
          alive = read_into(c.server, c.down, c, false);
        }
        if (!alive) {
          flush(c.client, c.down);  // what arrived before the end still goes through
          flush(c.server, c.up);
          c.close_both(false);
        }
      }
    }
  }

  std::uint16_t server_port_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  int wake_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> open_{0};
  std::vector<std::unique_ptr<connection>> conns_;  // only the proxy's thread touches these

  std::mutex mutex_;  // guards the fault settings below
  std::chrono::milliseconds delay_{};
  bool blackhole_ = false;
  bool reset_pending_ = false;
  std::size_t cut_after_server_bytes_ = npos;
  std::string cut_pattern_;
};

}  // namespace balrog::test
