#include "websocket/shard_mailbox.hpp"

#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/http/websocket/errors.hpp"

namespace balrog::http::websocket::detail {

namespace {

thread_local std::weak_ptr<shard_mailbox> this_shards_mailbox;

void fail(shard_mailbox::job& j) {
  j.failure = std::make_exception_ptr(
      connection_closed("balrog::http::websocket: the connection's shard has stopped"));
  j.done.set();
}

// Completes its job when destroyed, whether the job's fiber ran or was dropped unrun (the
// runtime ending), so that the sender never waits forever.
struct completion {
  std::shared_ptr<shard_mailbox::job> j;
  explicit completion(std::shared_ptr<shard_mailbox::job> job) noexcept : j(std::move(job)) {}
  completion(completion&&) noexcept = default;
  completion(const completion&) = delete;
  ~completion() {
    if (j && !j->done.is_set()) fail(*j);
  }
  void run() noexcept {
    try {
      j->fn();
    } catch (...) {
      j->failure = std::current_exception();
    }
    j->done.set();
  }
};

}  // namespace

std::shared_ptr<shard_mailbox> shard_mailbox::of_this_shard() {
  if (auto existing = this_shards_mailbox.lock(); existing && !existing->stopped_.load()) {
    return existing;
  }
  std::shared_ptr<shard_mailbox> box(new shard_mailbox());
  spawn([box] { box->dispatch(); }, {.name = "websocket-mailbox"}).detach();
  this_shards_mailbox = box;
  return box;
}

void shard_mailbox::dispatch() noexcept {
  try {
    while (auto j = jobs_.pop()) {
      try {
        spawn([c = completion(std::move(*j))]() mutable { c.run(); }, {.name = "websocket-send"})
            .detach();
      } catch (const cancelled&) {
        throw;
      } catch (...) {
        // no stack for the job's fiber: its completion (destroyed with the lambda) failed it
      }
    }
  } catch (...) {
    // cancelled: the runtime ends
  }
  stopped_.store(true);
  jobs_.close();
  while (auto j = jobs_.try_pop()) fail(**j);
}

void shard_mailbox::run(std::function<void()> fn) {
  auto j = std::make_shared<job>();
  j->fn = std::move(fn);
  try {
    jobs_.push(j);
  } catch (const channel_closed&) {
    fail(*j);
  }
  j->done.wait();
  if (j->failure) std::rethrow_exception(j->failure);
}

}  // namespace balrog::http::websocket::detail
