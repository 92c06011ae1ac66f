// balrog::compat::offloaded (balrog/compat/offloaded.hpp): the wait that no cancellation or
// deadline ends, because the offloaded call uses the caller's memory.
#include "balrog/compat/offloaded.hpp"

#include <mutex>

#include "balrog/detail/execution_context.hpp"
#include "balrog/detail/wait_queue.hpp"
#include "compat/wait_for_fd.hpp"
#include "offload/offload_pool.hpp"

namespace balrog::compat::detail {

bool offload_applies() noexcept { return current_place() == place::fiber; }

void run_offloaded_to_completion(std::shared_ptr<balrog::detail::fiber_task> task) {
  using namespace balrog::detail;
  auto job = std::make_shared<offload_job>(std::move(task));
  execution_context& self = current_context();
  offload_pool::instance().submit(job);
  // Cancellation waits for the next suspension point after this one (a shield), and the
  // enclosing deadline_scope is lifted for the wait; both come back afterwards.
  struct lifted {
    execution_context& ctx;
    deadline saved;
    explicit lifted(execution_context& c) : ctx(c), saved(c.scope_deadline) {
      ctx.enter_shield();
      ctx.scope_deadline = deadline::never();
    }
    ~lifted() {
      ctx.scope_deadline = saved;
      ctx.leave_shield();
    }
    lifted(const lifted&) = delete;
    lifted& operator=(const lifted&) = delete;
  } guard(self);
  std::unique_lock lk(job->lock);
  while (!job->done) {
    waiter w(self);
    (void)park_on(job->waiters, w, lk, deadline::never(), "offloaded");
  }
}

}  // namespace balrog::compat::detail
