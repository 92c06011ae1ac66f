// The storage behind balrog::fiber_local: a small table per fiber (hung on its joinable_context)
// and one per OS thread for everything that is not a fiber.
#include "balrog/fiber_local.hpp"

#include <vector>

#include "balrog/detail/execution_context.hpp"
#include "core/fiber/joinable.hpp"

namespace balrog::detail {

struct fiber_local_table {
  struct slot {
    std::uint64_t key;
    void* value;
    void (*destroy)(void*);
  };
  std::vector<slot> slots;  // in creation order; few per fiber, so a linear search

  // Destroys the values, newest first; a destructor that touches a fiber_local again makes a
  // new value, destroyed in a later round.
  void clear() noexcept {
    while (!slots.empty()) {
      const slot s = slots.back();
      slots.pop_back();
      s.destroy(s.value);
    }
  }
  ~fiber_local_table() { clear(); }
};

namespace {

struct thread_table {
  fiber_local_table table;
};

fiber_local_table& this_thread_table() {
  thread_local thread_table t;
  return t.table;
}

// The calling fiber's table (made on demand), or the thread's.
fiber_local_table* current_table(bool create) {
  execution_context& self = current_context();
  if (!self.is_fiber()) return &this_thread_table();
  auto& fiber = static_cast<joinable_context&>(self);
  if (fiber.locals == nullptr && create) fiber.locals = new fiber_local_table();
  return fiber.locals;
}

std::atomic<std::uint64_t> next_key{1};

}  // namespace

void* fiber_local_find(std::uint64_t key) noexcept {
  fiber_local_table* t = current_table(false);
  if (t == nullptr) return nullptr;
  for (const auto& s : t->slots) {
    if (s.key == key) return s.value;
  }
  return nullptr;
}

void fiber_local_store(std::uint64_t key, void* value, void (*destroy)(void*)) {
  current_table(true)->slots.push_back({key, value, destroy});
}

std::uint64_t fiber_local_new_key() noexcept {
  return next_key.fetch_add(1, std::memory_order_relaxed);
}

void destroy_fiber_locals(joinable_context& fiber) noexcept {
  if (fiber.locals == nullptr) return;
  fiber.locals->clear();
  delete fiber.locals;
  fiber.locals = nullptr;
}

}  // namespace balrog::detail
