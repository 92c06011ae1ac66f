// The bytes a connection has read and not yet parsed: one contiguous buffer, because Beast's
// parser wants a whole header in one piece. It grows up to a bound (options::max_header_bytes
// plus slack) and can be given back while the connection is idle.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace balrog::http::server::detail {

class input_buffer {
 public:
  explicit input_buffer(std::size_t initial_capacity) noexcept : initial_(initial_capacity) {}

  [[nodiscard]] std::string_view data() const noexcept {
    return {storage_.get() + begin_, end_ - begin_};
  }
  [[nodiscard]] bool empty() const noexcept { return begin_ == end_; }
  [[nodiscard]] std::size_t size() const noexcept { return end_ - begin_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  void consume(std::size_t n) noexcept;

  // Room to read into: at least one byte, growing (by doubling) up to `max_capacity` when the
  // unparsed bytes fill the buffer. Empty when the buffer is full at max_capacity.
  [[nodiscard]] std::span<char> prepare(std::size_t max_capacity);
  void commit(std::size_t n) noexcept { end_ += n; }

  // Frees the memory when nothing is buffered (an idle connection).
  void release_if_empty() noexcept;

 private:
  std::size_t initial_;
  std::unique_ptr<char[]> storage_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace balrog::http::server::detail
