// balrog/fiber_local.hpp — per-fiber storage: thread_local's twin for code whose threads became
// fibers.
//
// Every fiber of an OS thread shares one instance of a thread_local variable, and fibers
// interleave at every suspension point: a "current request" slot or a per-thread cache leaks
// between the fibers that used to be threads. A fiber_local<T> holds one T per fiber:
//
//   static balrog::fiber_local<std::string> current_user;          // each fiber's is T()
//   static balrog::fiber_local<int> budget([] { return 100; });     // each fiber's is make()
//   *current_user = "alice";  current_user->size();  budget.get() -= 1;
//
//  - A fiber's value is made on its first access (with T() or the factory), on that fiber, and
//    destroyed when the fiber's function has returned, on the fiber, in the reverse order of
//    creation (as a thread's thread_local objects are at thread exit).
//  - Off a fiber (a plain thread, sync mode; or coroutine code, which has no fiber of its own)
//    the value is per OS thread, destroyed at thread exit: thread_local's behaviour.
//  - Values of one fiber are only touched by that fiber: no locking, no sharing.
//  - The object itself is not copyable or movable; declare it where the thread_local was
//    (namespace scope, or `static` in a function). Destroying it does not destroy the values
//    fibers still hold (they are destroyed with their fiber or thread, as above).
//
// balrog-gen's sync-types pass rewrites thread_local variables to it when asked to (the pass
// option thread-local-to-fiber-local; by default it reports them).
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace balrog {

namespace detail {

// The slot of `key` for the calling fiber (or, off a fiber, the calling thread), or null.
void* fiber_local_find(std::uint64_t key) noexcept;
// Stores `value` (owned from now on: `destroy(value)` frees it) as the slot of `key`.
void fiber_local_store(std::uint64_t key, void* value, void (*destroy)(void*));
std::uint64_t fiber_local_new_key() noexcept;

}  // namespace detail

template <class T>
class fiber_local {
  static_assert(!std::is_array_v<T> && !std::is_reference_v<T>,
                "fiber_local<T> holds an object: wrap arrays in std::array");

 public:
  fiber_local()
    requires std::default_initializable<T>
      : make_([] { return new T(); }) {}
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, fiber_local> &&
             std::is_invocable_r_v<T, std::decay_t<F>&>)
  explicit fiber_local(F&& make)
      : make_([make = std::decay_t<F>(std::forward<F>(make))]() mutable {
          return new T(std::invoke(make));
        }) {}
  fiber_local(const fiber_local&) = delete;
  fiber_local& operator=(const fiber_local&) = delete;

  // The calling fiber's value (made on first access).
  T& get() {
    if (void* p = detail::fiber_local_find(key_)) return *static_cast<T*>(p);
    std::unique_ptr<T> made(make_());
    detail::fiber_local_store(key_, const_cast<std::remove_cv_t<T>*>(made.get()),
                              [](void* p) { delete static_cast<T*>(p); });
    return *made.release();
  }
  T& operator*() { return get(); }
  T* operator->() { return &get(); }

 private:
  const std::uint64_t key_ = detail::fiber_local_new_key();
  std::function<T*()> make_;
};

}  // namespace balrog
