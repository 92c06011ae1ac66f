// E and F in the runtime review, for a plain thread: close() on another thread while a thread
// outside any scheduler is between listing itself on the stream (add_waiter) and its poll(2).
// That window is a few instructions long; this binary's own poll(2) holds the armed thread in
// it until the closer has had its turn, so the interleaving happens on every run. The closer
// takes the freed number at once, as a busy process would. The poll must still see the
// stream's own socket (the number was not freed under it), and the reader must learn that the
// stream is closed. Before the fix it polled the new socket until its deadline.
//
// A binary of its own: nothing else runs with this poll(2) (it forwards to the next
// definition, libc's or a sanitizer's interceptor, unless the calling thread is armed).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>

#include "balrog/errors.hpp"
#include "balrog/net.hpp"

using namespace std::chrono_literals;
namespace net = balrog::net;

namespace {

thread_local bool armed = false;        // this thread's next poll(2) is held
std::atomic<bool> poll_entered{false};  // the armed thread reached poll(2)
std::atomic<bool> closer_had_its_turn{false};
std::atomic<ino_t> polled_inode{0};  // what the held poll(2) then polled

ino_t inode_of(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
}

}  // namespace

extern "C" int poll(pollfd* fds, nfds_t nfds, int timeout) {
  static const auto real =
      reinterpret_cast<int (*)(pollfd*, nfds_t, int)>(::dlsym(RTLD_NEXT, "poll"));
  if (armed && nfds == 1) {
    armed = false;
    poll_entered = true;
    // Until the closer is done, or for a while if close() waits for this thread (the fix):
    // then it must find the socket shut down and return at once.
    const auto until = std::chrono::steady_clock::now() + 300ms;
    while (!closer_had_its_turn && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(1ms);
    }
    polled_inode = inode_of(fds[0].fd);
  }
  return real(fds, nfds, timeout);
}

TEST(NetClosePollRace, APlainThreadNeverPollsANumberCloseFreed) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  net::stream a(sv[0]);
  net::stream b(sv[1]);  // never writes: only close() ends the read
  const ino_t own_inode = inode_of(a.native_handle());

  std::atomic<bool> saw_closed{false};
  std::atomic<bool> timed_out{false};
  std::thread reader([&] {
    std::array<std::byte, 8> buf{};
    armed = true;
    try {
      (void)a.read_some(buf, 2s);
    } catch (const balrog::timeout_error&) {
      timed_out = true;
    } catch (const balrog::io_error& e) {
      saw_closed = e.code() == std::errc::bad_file_descriptor;
    }
  });
  while (!poll_entered) std::this_thread::sleep_for(1ms);
  const int old_fd = a.native_handle();
  a.close();
  // The freed number's next owner (the lowest free number is handed out first).
  int taken[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, taken), 0);
  closer_had_its_turn = true;
  reader.join();
  EXPECT_EQ(taken[0], old_fd) << "the number was not reused (another thread took it?)";
  EXPECT_EQ(polled_inode.load(), own_inode)
      << "the reader polled a number close() had freed, now another socket's";
  EXPECT_FALSE(timed_out) << "the reader waited until its deadline";
  EXPECT_TRUE(saw_closed);
  ::close(taken[0]);
  ::close(taken[1]);
}
