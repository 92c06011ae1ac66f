// A compat call waiting on an fd that is closed behind its back (by ::close, or by the compat
// close/dup2/dup3 the posix-net map rewrites to) must never read the bytes of the connection
// that reuses the number, and must not hang.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "balrog/compat/posix_net.hpp"
#include "compat_test_support.hpp"

namespace compat = balrog::compat;
using namespace compat_test;

namespace {

// What a compat::recv on a fiber returned: its outcome and the bytes it read.
struct received {
  outcome result{};
  std::string bytes;
};

balrog::fiber<received> spawn_recv(int fd) {
  return balrog::spawn([fd] {
    received r;
    char buf[64] = {};
    r.result = call([&] { return compat::recv(fd, buf, sizeof buf, 0); });
    if (r.result.result > 0) r.bytes.assign(buf, static_cast<std::size_t>(r.result.result));
    return r;
  });
}

// Gives the fiber time to start waiting (several turns of the loop).
void let_it_wait() {
  for (int i = 0; i < 5; ++i) balrog::this_fiber::yield();
}

}  // namespace

TEST(CompatFdReuse, AStaleWaiterNeverReadsTheNextConnectionsBytes) {
  balrog::run([] {
    auto [old_end, old_peer] = unix_pair();
    const int fd = old_end.get();
    auto stale = spawn_recv(fd);
    let_it_wait();
    ::close(fd);  // behind the runtime's back: no compat call sees it
    (void)old_end.release();
    // The lowest free number comes straight back, to a new connection with its own reader.
    auto [new_end, new_peer] = unix_pair();
    ASSERT_EQ(new_end.get(), fd);
    set_timeout(new_end, SO_RCVTIMEO, 2s);  // a reader robbed of its bytes gives up, not hangs
    auto fresh = spawn_recv(fd);
    let_it_wait();
    ASSERT_EQ(::write(new_peer, "for the new one", 15), 15);
    const received s = stale.join();
    const received f = fresh.join();
    EXPECT_EQ(f.bytes, "for the new one") << "the new connection's reader got " << f.result;
    EXPECT_EQ(s.bytes, "") << "the stale waiter read the new connection's bytes";
    EXPECT_EQ(s.result, (outcome{-1, EBADF})) << "the stale waiter learns its fd was closed";
  });
}
