// A greenlet waiting for a coroutine task (balrog/python/await.hpp).
#include <memory>

#include "balrog/python/await.hpp"
#include "hub/hub.hpp"
#include "hub/hub_access.hpp"

namespace balrog::python::detail {

struct call_access {
  static void*& waiter_of(native_call_base& c) noexcept { return c.waiter_; }
};

native_call_base::~native_call_base() = default;

void native_call_base::complete() noexcept {
  auto* w = static_cast<waiter*>(waiter_);
  if (w != nullptr && w->owner != nullptr) w->owner->claim(*w);
}

void prepare_to_wait() { (void)this_thread_hub(); }

void wait_for(native_call_base& call, task_handle<void>& handle) {
  hub& h = this_thread_hub();
  const std::uint64_t id = h.id();
  auto w = std::make_unique<waiter>();
  h.prepare(*w);
  call_access::waiter_of(call) = w.get();
  try {
    h.wait(*w, std::nullopt);
  } catch (...) {
    // Interrupted (kill, Timeout, Ctrl-C). The task runs on without us: it must not find the
    // waiter, and is cancelled and kept by the hub until it has unwound. If the hub itself is
    // gone, its loop already drained the task: the handle can simply be dropped.
    call_access::waiter_of(call) = nullptr;
    if (hub::still_current(id)) {
      handle.cancel();
      h.adopt(std::move(handle));
    }
    throw;
  }
  call_access::waiter_of(call) = nullptr;
}

bool call_in_hub(std::function<void()> fn) {
  hub* h = hub::current();
  if (h == nullptr) return false;
  h->call_soon(std::move(fn));
  return true;
}

void release(task_handle<void>&& handle) noexcept {
  if (handle.done()) {
    task_handle<void> finished = std::move(handle);
    return;
  }
  if (hub* h = hub::current()) h->adopt(std::move(handle));
}

}  // namespace balrog::python::detail
