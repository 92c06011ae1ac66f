#include "websocket/core.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/error.hpp>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>

#include "balrog/compat/posix_net.hpp"
#include "balrog/errors.hpp"
#include "balrog/runtime.hpp"
#include "balrog/this_fiber.hpp"

namespace balrog::http::websocket::detail {

namespace beast_ws = boost::beast::websocket;
namespace beast_http = boost::beast::http;

namespace {

// Thrown through Beast's read from the adapter's wait (see core.hpp): close() was asked for
// by another fiber, or the peer was silent for options::idle_timeout.
struct close_interrupt {};
struct idle_expired {};

constexpr std::size_t max_reason_bytes = 123;  // a close frame's payload is at most 125 bytes

bool is_websocket_error(const boost::system::error_code& ec) {
  return ec.category() == beast_ws::make_error_code(beast_ws::error::closed).category();
}

std::string describe(const char* what, int fd) {
  return std::string("balrog::http::websocket::") + what + "(fd " + std::to_string(fd) + ")";
}

}  // namespace

boost::asio::io_context& idle_io_context() noexcept {
  static boost::asio::io_context context{1};
  return context;
}

// --- stream_adapter -------------------------------------------------------------------------

std::size_t stream_adapter::read_into(std::span<char> into, boost::system::error_code& ec) {
  return core_->read_into(into, ec);
}
void stream_adapter::write_from(std::span<const char> from, boost::system::error_code& ec) {
  core_->write_from(from, ec);
}

void teardown(boost::beast::role_type /*role*/, stream_adapter& stream,
              boost::system::error_code& ec) {
  ec = {};
  stream.owner().teardown();
}

// --- construction and handshakes ------------------------------------------------------------

std::shared_ptr<core> core::make_server(net::stream s, std::string leftover, const options& o) {
  return std::make_shared<core>(std::move(s), net::tls_stream(), std::move(leftover), o, true);
}

std::shared_ptr<core> core::make_server(net::tls_stream s, std::string leftover, const options& o) {
  return std::make_shared<core>(net::stream(), std::move(s), std::move(leftover), o, true);
}

std::shared_ptr<core> core::make_client(net::stream s, const options& o) {
  return std::make_shared<core>(std::move(s), net::tls_stream(), std::string(), o, false);
}

std::shared_ptr<core> core::make_client(net::tls_stream s, const options& o) {
  return std::make_shared<core>(net::stream(), std::move(s), std::string(), o, false);
}

core::core(net::stream s, net::tls_stream tls, std::string leftover, const options& o,
           bool server_role)
    : options_(o),
      server_role_(server_role),
      stream_(std::move(s)),
      tls_(std::move(tls)),
      tls_on_(tls_.is_open()),
      fd_(tls_on_ ? tls_.next_layer().native_handle() : stream_.native_handle()),
      leftover_(std::move(leftover)),
      owner_thread_(std::this_thread::get_id()),
      last_heard_(clock::now()) {
  try {
    remote_ = (tls_on_ ? tls_.next_layer() : stream_).remote_endpoint();
  } catch (const io_error&) {
    // reset already: the handshake will fail
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw_errno("balrog::http::websocket: eventfd");
  owned_by_fiber_ = this_shard::count() > 0 && static_cast<bool>(this_fiber::id());
  big_lock_ = !owned_by_fiber_;
  try {
    if (owned_by_fiber_) mailbox_ = shard_mailbox::of_this_shard();
    ws_.emplace(*this, writes_);
    configure();
  } catch (...) {
    ::close(wake_fd_);
    throw;
  }
}

core::~core() { ::close(wake_fd_); }

void core::configure() {
  beast_ws::permessage_deflate pmd;
  pmd.server_enable = server_role_ && options_.permessage_deflate;
  pmd.client_enable = !server_role_ && options_.permessage_deflate;
  pmd.msg_size_threshold = options_.deflate_threshold;
  ws_->set_option(pmd);
  ws_->auto_fragment(false);
  ws_->read_message_max(options_.max_message_bytes);
  // Beast checks read_message_max against a frame's length only for uncompressed frames; for a
  // compressed one it sizes the buffer from the frame header's claimed length (up to 2^63), so
  // the buffer's own limit bounds it: past it, read() ends with buffer_overflow, not bad_alloc.
  partial_.max_size(options_.max_message_bytes);
}

bool core::accept(const server::request::message_type& req,
                  const server::response::message_type& extra) {
  ws_->set_option(beast_ws::stream_base::decorator([this, &extra](beast_ws::response_type& res) {
    for (const auto& f : extra) {
      switch (f.name()) {
        case beast_http::field::connection:
        case beast_http::field::upgrade:
        case beast_http::field::content_length:
        case beast_http::field::sec_websocket_accept:
        case beast_http::field::sec_websocket_extensions:
          break;  // Beast's to set
        default:
          res.set(f.name_string(), f.value());
      }
    }
    if (res.result() == beast_http::status::switching_protocols) {
      compressed_ = res.count(beast_http::field::sec_websocket_extensions) != 0;
      subprotocol_ = std::string(res[beast_http::field::sec_websocket_protocol]);
    }
    if (res.count(beast_http::field::server) == 0) res.set(beast_http::field::server, "balrog");
  }));
  receive_until_ = clock::now() + options_.handshake_timeout;
  boost::system::error_code ec;
  try {
    ws_->accept(req, ec);
  } catch (...) {
    ec = boost::asio::error::operation_aborted;
  }
  receive_until_ = deadline::never();
  if (ec) {
    drop();
    return false;
  }
  last_heard_ = clock::now();
  set_state(state::open);
  return true;
}

void core::handshake(const std::string& host, const std::string& target,
                     const boost::beast::http::fields& extra, deadline until) {
  ws_->set_option(beast_ws::stream_base::decorator([this, &extra](beast_ws::request_type& req) {
    req.set(beast_http::field::user_agent, "balrog");
    for (const auto& f : extra) req.set(f.name_string(), f.value());
    if (!options_.subprotocol.empty()) {
      req.set(beast_http::field::sec_websocket_protocol, options_.subprotocol);
    }
  }));
  receive_until_ = until;
  beast_ws::response_type res;
  boost::system::error_code ec;
  try {
    ws_->handshake(res, host, target, ec);
  } catch (...) {
    receive_until_ = deadline::never();
    drop();
    throw;
  }
  receive_until_ = deadline::never();
  if (ec) {
    drop();
    if (ec == beast_ws::error::upgrade_declined) {
      throw handshake_error(res.result_int(), "balrog::http::websocket::connect: " + host + target +
                                                  " answered " + std::to_string(res.result_int()) +
                                                  " instead of 101 Switching Protocols");
    }
    if (io_failure_) std::rethrow_exception(std::exchange(io_failure_, nullptr));
    if (is_websocket_error(ec) ||
        ec.category() == beast_http::make_error_code(beast_http::error::bad_version).category()) {
      throw handshake_error(0, "balrog::http::websocket::connect: " + host + target +
                                   ": the answer is not a WebSocket upgrade: " + ec.message());
    }
    throw io_error(std::error_code(ec.value(), std::system_category()),
                   "balrog::http::websocket::connect: " + host + target);
  }
  compressed_ = res.count(beast_http::field::sec_websocket_extensions) != 0;
  subprotocol_ = std::string(res[beast_http::field::sec_websocket_protocol]);
  last_heard_ = clock::now();
  set_state(state::open);
}

// --- state ----------------------------------------------------------------------------------

void core::set_state(state s) noexcept {
  state_.store(s);
  if (s == state::closed || s == state::failed) finished_.set();
}

bool core::is_open() const noexcept {
  const state s = state_.load();
  return s == state::open;
}

std::optional<close_reason> core::peer_close() const {
  if (state_.load() != state::closed) return std::nullopt;
  const beast_ws::close_reason& r = ws_->reason();
  if (r.code == beast_ws::close_code::none) return std::nullopt;
  return close_reason{static_cast<std::uint16_t>(r.code),
                      std::string(r.reason.data(), r.reason.size())};
}

bool core::must_delegate() const noexcept {
  if (!owned_by_fiber_) return false;
  return std::this_thread::get_id() != owner_thread_ || !this_fiber::id();
}

void core::drop() noexcept {
  const state s = state_.load();
  if (s != state::closed && s != state::failed) set_state(state::failed);
  ::shutdown(fd_, SHUT_RDWR);  // not close(): other fibers may still wait on the number
}

void core::teardown() noexcept { ::shutdown(fd_, SHUT_RDWR); }

[[noreturn]] void core::fail(const boost::system::error_code& ec, const char* during) {
  drop();
  if (io_failure_) std::rethrow_exception(std::exchange(io_failure_, nullptr));
  if (is_websocket_error(ec)) {
    std::uint16_t code = close_codes::protocol_error;
    if (ec == beast_ws::error::message_too_big || ec == beast_ws::error::buffer_overflow) {
      code = close_codes::too_big;  // buffer_overflow: a compressed frame past the limit
    }
    if (ec == beast_ws::error::bad_frame_payload) code = close_codes::bad_payload;
    throw protocol_error(code, describe(during, fd_) + ": " + ec.message());
  }
  if (ec == boost::asio::error::eof) {
    throw io_error(std::make_error_code(std::errc::connection_reset),
                   describe(during, fd_) +
                       ": the peer ended the TCP connection without a close "
                       "frame");
  }
  if (ec == boost::asio::error::operation_aborted) {
    throw connection_closed(describe(during, fd_) + ": the connection is closed");
  }
  throw io_error(std::error_code(ec.value(), std::system_category()), describe(during, fd_));
}

// --- the adapter's reads and writes ---------------------------------------------------------

void core::settle_writes() { const write_section wait_for_writer(writes_); }

std::size_t core::read_into(std::span<char> into, boost::system::error_code& ec) {
  ec = {};
  if (leftover_used_ < leftover_.size()) {
    const std::size_t n = std::min(into.size(), leftover_.size() - leftover_used_);
    std::memcpy(into.data(), leftover_.data() + leftover_used_, n);
    leftover_used_ += n;
    if (leftover_used_ == leftover_.size()) std::string().swap(leftover_), leftover_used_ = 0;
    last_heard_ = clock::now();
    return n;
  }
  for (;;) {
    if (tls_on_) {
      // What OpenSSL holds, or what the socket has: an attempt that does not wait (a past
      // deadline). After WANT_READ nothing decrypted is left behind, so the wait below on the
      // socket sees everything there is.
      std::size_t got = 0;
      try {
        got = tls_.read_some(std::as_writable_bytes(into), clock::now());
      } catch (const timeout_error&) {
        wait_for_input();
        continue;
      } catch (const io_error& e) {
        io_failure_ = std::current_exception();  // a tls_error keeps OpenSSL's reason
        settle_writes();
        ec = boost::system::error_code(e.code().value(), boost::system::system_category());
        return 0;
      }
      if (got == 0) {
        settle_writes();
        ec = boost::asio::error::eof;
        return 0;
      }
      last_heard_ = clock::now();
      return got;
    }
    const ssize_t n = ::recv(fd_, into.data(), into.size(), MSG_DONTWAIT);
    if (n > 0) {
      last_heard_ = clock::now();
      return static_cast<std::size_t>(n);
    }
    if (n == 0) {
      settle_writes();
      ec = boost::asio::error::eof;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      const int err = errno;
      settle_writes();
      ec = boost::system::error_code(err, boost::system::system_category());
      return 0;
    }
    wait_for_input();
  }
}

void core::wait_for_input() {
  for (;;) {
    const clock::time_point now = clock::now();
    const state s = state_.load();
    deadline wake = receive_until_;
    std::optional<clock::time_point> idle_at;
    std::optional<clock::time_point> ping_at;
    if (options_.idle_timeout.count() > 0 && s != state::handshake) {
      idle_at = last_heard_ + options_.idle_timeout;
      wake = earliest(wake, *idle_at);
    }
    if (options_.ping_interval.count() > 0 && s == state::open) {
      ping_at = std::max(last_heard_, last_ping_) + options_.ping_interval;
      wake = earliest(wake, *ping_at);
    }
    int timeout_ms = -1;
    if (!wake.is_never()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(wake.when() - now).count();
      timeout_ms = static_cast<int>(std::clamp<long long>(left, 0, INT_MAX));
    }
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    write_section* big = big_lock_ ? receiver_section_ : nullptr;
    if (big != nullptr) big->release();
    const int r = compat::poll(fds, 2, timeout_ms);
    const int err = errno;
    if (big != nullptr) big->reacquire();
    if (r < 0) {
      if (err == EINTR) continue;
      if (err == ECANCELED) throw cancelled();
      if (err == ETIMEDOUT) throw timeout_error();  // an enclosing deadline_scope
      throw_errno(err, describe("poll", fd_));
    }
    if ((fds[1].revents & POLLIN) != 0) {
      std::uint64_t rings = 0;
      [[maybe_unused]] const ssize_t got = ::read(wake_fd_, &rings, sizeof rings);
      if (close_requested_.load() && !closing_handshake_) throw close_interrupt{};
    }
    if (fds[0].revents != 0) return;  // readable, hung up or failed: recv() says which
    const clock::time_point later = clock::now();
    if (receive_until_.expired()) {
      throw timeout_error("balrog::http::websocket::connection::receive: deadline exceeded");
    }
    if (idle_at && later >= *idle_at) throw idle_expired{};
    if (ping_at && later >= *ping_at) ping_now();
  }
}

void core::ping_now() {
  last_ping_ = clock::now();
  const write_section w(writes_);
  boost::system::error_code ec;
  ws_->ping({}, ec);
  if (ec) {
    if (io_failure_) std::rethrow_exception(std::exchange(io_failure_, nullptr));
    throw io_error(std::error_code(ec.value(), std::system_category()), describe("ping", fd_));
  }
}

void core::write_from(std::span<const char> from, boost::system::error_code& ec) {
  ec = {};
  try {
    while (!from.empty()) {
      const std::size_t n = tls_on_
                                ? tls_.write_some(std::as_bytes(from), options_.write_timeout)
                                : stream_.write_some(std::as_bytes(from), options_.write_timeout);
      from = from.subspan(n);
    }
  } catch (const cancelled&) {
    io_failure_ = std::current_exception();
    ec = boost::asio::error::operation_aborted;
  } catch (const timeout_error&) {
    io_failure_ = std::current_exception();
    ec = boost::asio::error::timed_out;
  } catch (const io_error& e) {
    io_failure_ = std::current_exception();
    ec = boost::system::error_code(e.code().value(), boost::system::system_category());
  }
}

// --- the public operations ------------------------------------------------------------------

std::optional<message> core::receive(deadline until) {
  if (must_delegate()) {
    throw usage_error(
        "balrog::http::websocket::connection::receive: call it on the connection's own shard "
        "(send() may be called from anywhere)");
  }
  std::unique_lock reading(read_lock_);
  const state s = state_.load();
  if (s == state::closed) return std::nullopt;
  if (s == state::failed || s == state::handshake) {
    throw connection_closed(describe("receive", fd_) + ": the connection is closed");
  }
  if (close_requested_.load()) {
    close_handshake(requested_code_.load(), requested_reason());
    return std::nullopt;
  }
  receive_until_ = until;
  std::optional<write_section> big;
  if (big_lock_) big.emplace(writes_);
  receiver_section_ = big ? &*big : nullptr;
  struct forget_section {
    write_section*& slot;
    ~forget_section() { slot = nullptr; }
  } forget{receiver_section_};
  boost::system::error_code ec;
  try {
    ws_->read(partial_, ec);
  } catch (const close_interrupt&) {
    big.reset();
    close_handshake(requested_code_.load(), requested_reason());
    return std::nullopt;
  } catch (const idle_expired&) {
    big.reset();
    drop();
    throw timeout_error(describe("receive", fd_) + ": the peer was silent for " +
                        std::to_string(options_.idle_timeout.count()) + " ms (idle_timeout)");
  } catch (const timeout_error&) {
    throw;  // the caller's deadline: the connection stays open
  } catch (const cancelled&) {
    throw;
  } catch (...) {
    big.reset();
    drop();
    throw;
  }
  receive_until_ = deadline::never();
  if (!ec) {
    message m;
    m.binary = ws_->got_binary();
    m.data = boost::beast::buffers_to_string(partial_.data());
    partial_.clear();
    return m;
  }
  big.reset();
  if (ec == beast_ws::error::closed) {
    // The peer's close frame: Beast answered it and ended the TCP connection.
    set_state(state::closed);
    return std::nullopt;
  }
  fail(ec, "receive");
}

void core::send(bool binary, std::string_view data) {
  if (must_delegate()) {
    mailbox_->run([self = shared_from_this(), binary, copy = std::string(data)] {
      self->send(binary, copy);
    });
    return;
  }
  const write_section w(writes_);
  if (state_.load() != state::open) {
    throw connection_closed(describe("send", fd_) + ": the connection is closed");
  }
  ws_->binary(binary);
  boost::system::error_code ec;
  ws_->write(boost::asio::const_buffer(data.data(), data.size()), ec);
  if (ec) fail(ec, "send");
}

void core::ping(std::string_view payload) {
  if (payload.size() > 125) {
    throw usage_error("balrog::http::websocket::connection::ping: a payload over 125 bytes");
  }
  if (must_delegate()) {
    mailbox_->run([self = shared_from_this(), copy = std::string(payload)] { self->ping(copy); });
    return;
  }
  const write_section w(writes_);
  if (state_.load() != state::open) {
    throw connection_closed(describe("ping", fd_) + ": the connection is closed");
  }
  boost::system::error_code ec;
  ws_->ping(beast_ws::ping_data(payload.data(), payload.size()), ec);
  if (ec) fail(ec, "ping");
}

void core::close(std::uint16_t code, std::string_view reason) {
  if (must_delegate()) {
    mailbox_->run(
        [self = shared_from_this(), code, copy = std::string(reason)] { self->close(code, copy); });
    return;
  }
  if (state_.load() != state::open) {
    if (state_.load() == state::handshake) drop();
    return;
  }
  if (read_lock_.try_lock()) {
    std::unique_lock reading(read_lock_, std::adopt_lock);
    close_handshake(code, reason);
    return;
  }
  // A receiver is waiting: it runs the handshake (its receive() then returns nullopt).
  request_close(code, reason);
  if (!finished_.wait_for(options_.close_timeout + options_.write_timeout)) drop();
}

void core::request_close(std::uint16_t code, std::string_view reason) noexcept {
  {
    std::lock_guard guard(requested_reason_lock_);
    requested_code_.store(code);
    requested_reason_.assign(reason.substr(0, max_reason_bytes));
  }
  close_requested_.store(true);
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

std::string core::requested_reason() {
  std::lock_guard guard(requested_reason_lock_);
  return requested_reason_;
}

void core::close_handshake(std::uint16_t code, std::string_view reason) noexcept {
  const state s = state_.load();
  if (s == state::closed || s == state::failed) return;
  set_state(state::closing);
  closing_handshake_ = true;
  close_requested_.store(false);
  try {
    const write_section w(writes_);
    receive_until_ = clock::now() + options_.close_timeout;
    beast_ws::close_reason why(static_cast<beast_ws::close_code>(code));
    why.reason.assign(reason.substr(0, max_reason_bytes).data(),
                      std::min(reason.size(), max_reason_bytes));
    boost::system::error_code ec;
    ws_->close(why, ec);
  } catch (...) {
    // the peer did not answer in time, or the connection broke: it is closed either way
  }
  closing_handshake_ = false;
  receive_until_ = deadline::never();
  set_state(state::closed);
  teardown();
}

}  // namespace balrog::http::websocket::detail
