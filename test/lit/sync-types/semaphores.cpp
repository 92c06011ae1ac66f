// std::counting_semaphore<N>, std::binary_semaphore, std::latch and std::barrier<F> become
// their balrog twins: the template's name changes, its arguments stay; CTAD follows. The
// rewritten file compiles against the runtime.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <barrier>
#include <latch>
#include <memory>
#include <semaphore>
// CHECK-FIXES: #include <balrog/sync/barrier.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/counting_semaphore.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/latch.hpp>
// CHECK-FIXES-NEXT: #include <barrier>

std::counting_semaphore<8> slots(8);
// CHECK-FIXES: balrog::counting_semaphore<8> slots(8);
std::counting_semaphore<> unbounded(0);
// CHECK-FIXES: balrog::counting_semaphore<> unbounded(0);
::std::binary_semaphore ready{0};
// CHECK-FIXES: ::balrog::binary_semaphore ready{0};
std::latch started(4);
// CHECK-FIXES: balrog::latch started(4);

struct on_phase {
  void operator()() noexcept {}
};
std::barrier<on_phase> phases(4);
// CHECK-FIXES: balrog::barrier<on_phase> phases(4);
std::barrier deduced(2, [] () noexcept {});
// CHECK-FIXES: balrog::barrier deduced(2, [] () noexcept {});
std::barrier<> plain(3);
// CHECK-FIXES: balrog::barrier<> plain(3);

void use(std::counting_semaphore<8>& s, std::latch* l) {
  // CHECK-FIXES: void use(balrog::counting_semaphore<8>& s, balrog::latch* l) {
  s.acquire();
  s.release();
  l->count_down();
  auto owned = std::make_unique<std::binary_semaphore>(1);
  // CHECK-FIXES: auto owned = std::make_unique<balrog::binary_semaphore>(1);
  owned->acquire();
  plain.arrive_and_wait();
  static_assert(std::counting_semaphore<8>::max() >= 8);
  // CHECK-FIXES: static_assert(balrog::counting_semaphore<8>::max() >= 8);
}

template <std::ptrdiff_t N>
using pool_slots = std::counting_semaphore<N>;
// CHECK-FIXES: using pool_slots = balrog::counting_semaphore<N>;
pool_slots<2> two(2);
static_assert(std::latch::max() > 0 && std::barrier<>::max() > 0);
// CHECK-FIXES: static_assert(balrog::latch::max() > 0 && balrog::barrier<>::max() > 0);
