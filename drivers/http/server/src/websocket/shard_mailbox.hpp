// Running a function on a given shard's thread, from any fiber or thread, and waiting for it.
//
// A WebSocket belongs to the shard whose fiber opened it: Beast's stream is not thread-safe,
// and the socket's readiness waits belong to that shard's reactor. A sender on another shard
// (or a plain thread) hands its send to the owner's mailbox: a fiber of the owner shard
// (the dispatcher, started on the shard's first WebSocket) spawns a fiber per job, so one slow
// connection never holds up another's sends.
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <memory>

#include "balrog/sync/channel.hpp"
#include "balrog/sync/event.hpp"

namespace balrog::http::websocket::detail {

class shard_mailbox : public std::enable_shared_from_this<shard_mailbox> {
 public:
  // The calling fiber's shard's mailbox, started on the first call. Must run on a fiber.
  [[nodiscard]] static std::shared_ptr<shard_mailbox> of_this_shard();

  // Runs `fn` on a new fiber of the mailbox's shard, waits until it returned, and rethrows
  // what it threw. Throws connection_closed when the shard has stopped (its runtime ended);
  // cancelled (and an enclosing deadline_scope's timeout_error) end the wait, not the job.
  void run(std::function<void()> fn);

  struct job {
    std::function<void()> fn;
    event done;
    std::exception_ptr failure;
  };

 private:
  shard_mailbox() = default;
  void dispatch() noexcept;

  std::atomic<bool> stopped_{false};  // the dispatcher ended with its runtime
  channel<std::shared_ptr<job>> jobs_{channel<std::shared_ptr<job>>::unbounded_capacity};
};

}  // namespace balrog::http::websocket::detail
