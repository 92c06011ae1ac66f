// balrog/sync/channel.hpp — a FIFO channel between fibers (and threads), Go style.
//
//   balrog::channel<int> ch(16);           // bounded: push waits while 16 values are queued
//   auto all = balrog::channel<job>::unbounded();
//   balrog::channel<int> handoff(0);       // rendezvous: push waits for a pop
//
//   ch.push(1);                            // may wait; throws channel_closed once closed
//   std::optional<int> v = ch.pop();       // may wait; nullopt once closed and drained
//   for (int x : ch) { ... }               // pops until closed and drained
//   ch.close();                            // wakes everyone; queued values stay poppable
//
// Values go straight from a pusher to a waiting popper when one waits. Waiters are served in
// FIFO order. Works on fibers, plain threads and across shards; not copyable or movable
// (share it by reference or shared_ptr).
//
//  push(v), pop()            Suspension points: throw balrog::cancelled when the fiber is
//                            cancelled and balrog::timeout_error when an enclosing
//                            deadline_scope passes. A push that throws has not queued v.
//  push(v, until),           Same, and also throw timeout_error when `until` passes.
//  pop(until)                A past deadline still succeeds when no wait is needed.
//  try_push(v), try_pop()    Never wait. try_push moves from v only when it succeeds.
//  close()                   Idempotent, never waits. Waiting pushers throw channel_closed;
//                            waiting poppers get nullopt once the queue is empty.
#pragma once

#include <cstddef>
#include <deque>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <utility>

#include "balrog/deadline.hpp"
#include "balrog/detail/spinlock.hpp"
#include "balrog/detail/wait_queue.hpp"
#include "balrog/errors.hpp"

namespace balrog {

template <class T>
class channel {
 public:
  static constexpr std::size_t unbounded_capacity = std::numeric_limits<std::size_t>::max();

  explicit channel(std::size_t capacity) : capacity_(capacity) {}
  static channel unbounded() { return channel(unbounded_capacity); }
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  void push(T value, deadline until = deadline::never()) {
    detail::execution_context& self = detail::current_context();
    std::unique_lock lk(lock_);
    if (closed_) throw channel_closed();
    if (give_to_waiting_popper(value) || buffer(value)) return;
    detail::waiter w(self);
    w.payload = &value;
    const detail::wake_reason why = detail::park_on(pushers_, w, lk, until, "channel-push");
    if (w.completed) return;  // a popper took the value
    lk.unlock();
    if (why == detail::wake_reason::notified) throw channel_closed();  // close() woke us
    detail::throw_if_failed(why);
    throw timeout_error("balrog::channel::push: deadline exceeded");
  }

  template <class U>
  [[nodiscard]] bool try_push(U&& value) {
    std::lock_guard lk(lock_);
    if (closed_) return false;
    // Claim a popper first, and move from `value` only once it is certain to be taken. A
    // queued popper is not necessarily a taker: its timeout or cancellation may have claimed
    // it already (it unlinks itself only when it runs). Testing "a popper is queued" and then
    // failing the hand-over used to drop the value on a rendezvous channel while returning
    // true (channel_test: TryPushSkipsPopperThat{WasCancelled,TimedOut}ButHasNotRunYet).
    if (detail::waiter* p = poppers_.wake_one()) {
      static_cast<std::optional<T>*>(p->payload)->emplace(std::forward<U>(value));
      p->completed = true;
      return true;
    }
    if (buffer_.size() < capacity_) {
      buffer_.emplace_back(std::forward<U>(value));
      return true;
    }
    return false;
  }

  std::optional<T> pop(deadline until = deadline::never()) {
    detail::execution_context& self = detail::current_context();
    std::unique_lock lk(lock_);
    if (std::optional<T> v = take()) return v;
    if (closed_) return std::nullopt;
    std::optional<T> slot;
    detail::waiter w(self);
    w.payload = &slot;
    const detail::wake_reason why = detail::park_on(poppers_, w, lk, until, "channel-pop");
    if (w.completed) return slot;
    lk.unlock();
    if (why == detail::wake_reason::notified) return std::nullopt;  // close() woke us
    detail::throw_if_failed(why);
    throw timeout_error("balrog::channel::pop: deadline exceeded");
  }

  [[nodiscard]] std::optional<T> try_pop() {
    std::lock_guard lk(lock_);
    return take();
  }

  void close() noexcept {
    std::lock_guard lk(lock_);
    closed_ = true;
    pushers_.wake_all();
    poppers_.wake_all();
  }

  [[nodiscard]] bool closed() const noexcept {
    std::lock_guard lk(lock_);
    return closed_;
  }
  // Values queued now (a snapshot; excludes values of waiting pushers).
  [[nodiscard]] std::size_t size() const noexcept {
    std::lock_guard lk(lock_);
    return buffer_.size();
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

  // Range-for support: each step pops; the range ends when the channel is closed and drained.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(channel* ch) : ch_(ch) { ++*this; }
    T& operator*() { return *current_; }
    iterator& operator++() {
      current_ = ch_->pop();
      if (!current_) ch_ = nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) { return a.ch_ == b.ch_; }

   private:
    channel* ch_ = nullptr;
    std::optional<T> current_;
  };
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  // All helpers run with lock_ held.
  bool give_to_waiting_popper(T& value) {
    if (detail::waiter* p = poppers_.wake_one()) {
      static_cast<std::optional<T>*>(p->payload)->emplace(std::move(value));
      p->completed = true;
      return true;
    }
    return false;
  }

  bool buffer(T& value) {
    if (buffer_.size() >= capacity_) return false;
    buffer_.push_back(std::move(value));
    return true;
  }

  // Pops the next value: from the buffer (refilling it from a waiting pusher), or, for a
  // rendezvous channel, straight from a waiting pusher.
  std::optional<T> take() {
    if (!buffer_.empty()) {
      std::optional<T> v(std::move(buffer_.front()));
      buffer_.pop_front();
      if (detail::waiter* p = pushers_.wake_one()) {
        buffer_.push_back(std::move(*static_cast<T*>(p->payload)));
        p->completed = true;
      }
      return v;
    }
    if (detail::waiter* p = pushers_.wake_one()) {
      p->completed = true;
      return std::optional<T>(std::move(*static_cast<T*>(p->payload)));
    }
    return std::nullopt;
  }

  mutable detail::spinlock lock_;
  const std::size_t capacity_;
  bool closed_ = false;
  std::deque<T> buffer_;
  detail::wait_queue pushers_;
  detail::wait_queue poppers_;
};

}  // namespace balrog
