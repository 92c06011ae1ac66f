// dump_fibers and list_fibers (balrog/debug.hpp): each shard describes its own fibers on its
// own thread; the caller gathers the answers. Also what a shard tells the watchdog's signal
// handler (debug/, below core) about what runs now.
#include <memory>
#include <ostream>

#include "balrog/debug.hpp"
#include "balrog/sync/event.hpp"
#include "core/coro/task_context.hpp"
#include "core/shard/scheduler.hpp"
#include "debug/backtrace.hpp"
#include "debug/registry.hpp"

namespace balrog {

namespace detail {

watched_shard::running_context scheduler::running_now() const noexcept {
  running_context r;
  r.stack = thread_stack;
  const joinable_context* who = running_;
  if (running_ != nullptr) {
    const auto low = reinterpret_cast<std::uintptr_t>(running_->stack.lowest);
    r.stack = {low, low + running_->stack.size};
  } else {
    who = running_task_;
  }
  if (who != nullptr) {
    r.id = who->id;
    r.is_task = !who->is_fiber();
    r.given_name = who->given_name();
  }
  return r;
}

void scheduler::describe(std::vector<fiber_snapshot>& out) const {
  const clock::time_point now = clock::now();
  for_each_joinable([&](const joinable_context& j) {
    fiber_snapshot s;
    s.id = fiber_id(j.id);
    s.name = std::string(j.name());
    s.shard = shard_index;
    s.is_task = !j.is_fiber();
    if (&j == running_ || &j == running_task_) {
      s.state = fiber_state::running;
    } else if (j.is_waiting()) {
      s.state = fiber_state::waiting;
      s.waiting_on = j.waiting_on != nullptr ? j.waiting_on : "?";
      s.waiting_for = std::chrono::duration_cast<std::chrono::milliseconds>(now - j.waiting_since);
    }
    if (s.state != fiber_state::running) {
      if (j.is_fiber()) {
        const auto& f = static_cast<const fiber_context&>(j);
        if (const void* fctx = f.frame.context; fctx != nullptr) {
          const auto low = reinterpret_cast<std::uintptr_t>(f.stack.lowest);
          std::uintptr_t pcs[48];
          const std::size_t n = walk_suspended(fctx, {low, low + f.stack.size}, pcs, 48);
          s.backtrace = symbolize(pcs, n);
        }
      } else if (const auto h = static_cast<const task_context&>(j).suspended_at()) {
        // A coroutine frame starts with its resume function: its name is the coroutine's.
        const auto resume = *static_cast<const std::uintptr_t*>(h.address());
        s.backtrace.push_back("coroutine " + symbolize_one(resume, false));
      }
    }
    out.push_back(std::move(s));
  });
}

namespace {

struct gathered {
  std::vector<fiber_snapshot> fibers;
  std::vector<std::size_t> busy_shards;
};

// Asks every shard to describe itself, then waits for the answers with no lock held: the
// registry lock is held only while the questions are posted (which keeps each scheduler
// alive until its post is queued), never across a wait, so two dumps from one shard, the
// watchdog and new schedulers never wait on each other (B in the runtime review). An answer
// that comes too late is written into its own shared block and dropped.
gathered gather() {
  struct answer {
    event ready;
    std::vector<fiber_snapshot> fibers;
  };
  struct question {
    std::size_t shard;
    std::shared_ptr<answer> a;
  };
  gathered g;
  std::vector<question> asked;
  {
    std::lock_guard reg(registry_mutex());
    for (watched_shard* w = registry_head; w != nullptr; w = w->registry_next) {
      auto* s = static_cast<scheduler*>(w);  // every registered shard is a scheduler
      if (s == scheduler::current()) {
        s->describe(g.fibers);  // our own shard: no need to ask
        continue;
      }
      auto a = std::make_shared<answer>();
      if (s->post([a, s] {
            s->describe(a->fibers);
            a->ready.set();
          })) {
        asked.push_back({s->shard_index, std::move(a)});
      }
    }
  }
  const auto until = clock::now() + std::chrono::milliseconds(500);
  for (question& q : asked) {
    if (q.a->ready.wait_until(until)) {
      for (auto& f : q.a->fibers) g.fibers.push_back(std::move(f));
    } else {
      g.busy_shards.push_back(q.shard);
    }
  }
  return g;
}

const char* state_name(fiber_state s) {
  switch (s) {
    case fiber_state::running:
      return "running";
    case fiber_state::ready:
      return "ready";
    case fiber_state::waiting:
      return "waiting";
  }
  return "?";
}

}  // namespace

}  // namespace detail

std::vector<fiber_snapshot> list_fibers() { return detail::gather().fibers; }

void dump_fibers(std::ostream& out) {
  const detail::gathered g = detail::gather();
  out << "balrog: " << g.fibers.size() << " fibers and tasks\n";
  for (const fiber_snapshot& f : g.fibers) {
    out << (f.is_task ? "task " : "fiber ") << f.name << " (#" << f.id.value() << ") shard "
        << f.shard << ": " << detail::state_name(f.state);
    if (f.state == fiber_state::waiting) {
      out << " on " << f.waiting_on << " for " << f.waiting_for.count() << " ms";
    }
    out << '\n';
    for (std::size_t i = 0; i < f.backtrace.size(); ++i) {
      out << "    #" << i << ' ' << f.backtrace[i] << '\n';
    }
  }
  for (std::size_t shard : g.busy_shards) {
    out << "shard " << shard
        << ": did not answer within 500 ms (a fiber is probably blocking it; see the watchdog)\n";
  }
}

}  // namespace balrog
