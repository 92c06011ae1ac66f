// Beast's SyncStream over a WebSocket's balrog socket: what boost::beast::websocket::stream
// reads from and writes to. Its calls forward to the core, which owns the socket and decides
// how to wait (a fiber suspends, a plain thread blocks, both can be interrupted by close()
// from another fiber) and how writes from several fibers stay whole frames.
//
// Beast's WebSocket stream also keeps an Asio timer for its asynchronous timeouts, built from
// the next layer's executor. balrog never runs Beast's asynchronous operations, so the timer
// is never armed; it gets the executor of one process-wide io_context that nothing runs.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>
#include <cstddef>
#include <span>

#include "websocket/write_lock.hpp"

namespace balrog::http::websocket::detail {

class core;

// Never run: it only gives Beast's unused timer an executor.
boost::asio::io_context& idle_io_context() noexcept;

class stream_adapter {
 public:
  using executor_type = boost::asio::io_context::executor_type;

  stream_adapter(core& c, write_lock& writes) noexcept : core_(&c), writes_(&writes) {}

  executor_type get_executor() noexcept { return idle_io_context().get_executor(); }

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      const boost::asio::mutable_buffer b(*it);
      if (b.size() > 0) return read_into({static_cast<char*>(b.data()), b.size()}, ec);
    }
    ec = {};
    return 0;
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  // Writes the whole sequence (or fails), so that each frame Beast writes in one call goes
  // out whole, never interleaved with another fiber's frame.
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
    ec = {};
    std::size_t total = 0;
    const write_section frame(*writes_);  // a pong or close answer inside a read takes it here
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && !ec; ++it) {
      const boost::asio::const_buffer b(*it);
      if (b.size() == 0) continue;
      write_from({static_cast<const char*>(b.data()), b.size()}, ec);
      if (!ec) total += b.size();
    }
    return total;
  }
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers) {
    boost::system::error_code ec;
    const std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  [[nodiscard]] core& owner() const noexcept { return *core_; }

 private:
  std::size_t read_into(std::span<char> into, boost::system::error_code& ec);
  void write_from(std::span<const char> from, boost::system::error_code& ec);

  core* core_;
  write_lock* writes_;
};

// Beast's customization point, found by argument-dependent lookup: ends the TCP connection
// after the close handshake (or a failure) without waiting.
void teardown(boost::beast::role_type role, stream_adapter& stream, boost::system::error_code& ec);

}  // namespace balrog::http::websocket::detail
