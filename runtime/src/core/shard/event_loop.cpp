// balrog::event_loop: a scheduler whose turns a host drives (balrog/event_loop.hpp).
#include "balrog/event_loop.hpp"

#include "core/shard/scheduler.hpp"
#include "core/shard/shard_table.hpp"

namespace balrog {

event_loop::event_loop()
    : shards_(std::make_unique<detail::shard_table>()), s_(std::make_unique<detail::scheduler>()) {
  shards_->shards.assign(1, s_.get());
  s_->shard_index = 0;
  s_->shards = shards_.get();
}

event_loop::~event_loop() {
  if (s_ != nullptr) s_->shut_down();
}

void event_loop::run_once(clock::duration max_wait) { s_->run_turn(max_wait); }

bool event_loop::has_ready() const noexcept { return s_->has_ready(); }

deadline event_loop::next_timer() const noexcept {
  detail::scheduler& s = *s_;
  return s.timers().empty() ? deadline::never() : deadline(s.timers().next());
}

std::size_t event_loop::alive() const noexcept { return s_->live(); }

bool event_loop::post(std::function<void()> fn) { return s_->post(std::move(fn)); }

void event_loop::wake() noexcept { s_->io().interrupt(); }

int event_loop::native_handle() const noexcept { return s_->io().native_handle(); }

int event_loop::wakeup_fd() { return s_->io().wakeup_fd(); }

void event_loop::forward_wakeups(int fd) noexcept { s_->io().forward_wakeups(fd); }

void event_loop::abandon_after_fork() noexcept {
  if (s_ == nullptr) return;
  s_->forget_after_fork();
  (void)s_.release();  // the parent's memory image: nothing in it may run here
  (void)shards_.release();
}

}  // namespace balrog
