#include "protocol/input_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace balrog::http::server::detail {

void input_buffer::consume(std::size_t n) noexcept {
  begin_ += std::min(n, size());
  if (begin_ == end_) begin_ = end_ = 0;
}

std::span<char> input_buffer::prepare(std::size_t max_capacity) {
  if (!storage_) {
    capacity_ = std::max<std::size_t>(std::min(initial_, max_capacity), 1);
    storage_ = std::make_unique_for_overwrite<char[]>(capacity_);
  }
  if (end_ == capacity_ && begin_ > 0) {
    // Move the unparsed tail to the front (pipelined requests, a header read in pieces).
    std::memmove(storage_.get(), storage_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == capacity_ && capacity_ < max_capacity) {
    const std::size_t grown = std::min(capacity_ * 2, max_capacity);
    auto bigger = std::make_unique_for_overwrite<char[]>(grown);
    std::memcpy(bigger.get(), storage_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    storage_ = std::move(bigger);
    capacity_ = grown;
  }
  return {storage_.get() + end_, capacity_ - end_};
}

void input_buffer::release_if_empty() noexcept {
  if (!empty()) return;
  storage_.reset();
  capacity_ = begin_ = end_ = 0;
}

}  // namespace balrog::http::server::detail
