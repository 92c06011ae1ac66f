// close() from another thread while a fiber (or a coroutine it drives) is starting to wait on
// the stream: the waiter must always be woken and told the stream is closed, whatever the
// interleaving. A lost wake-up shows as a wait that lasts until its deadline.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/net.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"

using namespace std::chrono_literals;
namespace net = balrog::net;

namespace {

// settled_fiber: the stream first waits once and reads a byte that drains it, so the raced
// read's first turn knows from the reactor it must wait and goes straight to the wait (no
// attempt, no owned_socket::use). plain_thread: a thread outside balrog::run, which waits in
// poll(2).
enum class reader_kind { fiber, coroutine, settled_fiber, plain_thread };

// One round's outcome, as the reader saw it.
enum class outcome { closed, lost_wakeup, other };

// The closer thread closes the stream a random few microseconds after the reader announced it
// is about to read, so that over many rounds the close lands everywhere in the reader's path:
// before the attempt, between the attempt and the wait, and during the wait. Then it takes the
// freed number at once (a new socket pair, kept until the round is over), as a busy process
// would: a reader that went on to wait on the number would wait on that socket instead.
class close_race {
 public:
  explicit close_race(reader_kind kind) : kind_(kind) {}

  // Runs up to `rounds` rounds for at most `budget` (a loaded machine makes rounds slow),
  // stopping at the first lost wake-up; returns the lost wake-ups.
  int run(int rounds, std::chrono::milliseconds budget) {
    std::thread closer([&] { close_loop(rounds); });
    int lost = 0;
    const auto reader = [&] {
      const auto end = std::chrono::steady_clock::now() + budget;
      int i = 0;
      for (; i < rounds && lost == 0 && std::chrono::steady_clock::now() < end; ++i) {
        if (one_round() == outcome::lost_wakeup) ++lost;
      }
      rounds_run_ = i;
      stop_ = true;
    };
    if (kind_ == reader_kind::plain_thread) {
      reader();
    } else {
      balrog::run(reader);
    }
    stop_ = true;
    closer.join();
    return lost;
  }

 private:
  outcome one_round() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return outcome::other;
    net::stream a(sv[0]);
    net::stream b(sv[1]);  // never writes (but the settling byte): only close() ends the read
    std::array<std::byte, 8> buf{};
    if (kind_ == reader_kind::settled_fiber) {
      // A wait registers the stream with the reactor; the short read then drains it.
      auto writer = balrog::spawn([&] {
        balrog::this_fiber::yield();
        b.write_all(std::string_view("x"));
      });
      const bool settled = a.read_some(buf, 1s) == 1;
      writer.join();
      if (!settled) return outcome::other;
    }
    target_.store(&a, std::memory_order_release);
    outcome result = outcome::other;
    try {
      if (kind_ != reader_kind::coroutine) {
        (void)a.read_some(buf, 300ms);
      } else {
        (void)balrog::await(a.async_read_some(buf, 300ms));
      }
    } catch (const balrog::timeout_error&) {
      result = outcome::lost_wakeup;
    } catch (const balrog::io_error& e) {
      if (e.code() == std::errc::bad_file_descriptor) result = outcome::closed;
    }
    // Wait until the closer is done with `a` before it goes out of scope.
    while (target_.load(std::memory_order_acquire) != nullptr) std::this_thread::yield();
    return result;
  }

  void close_loop(int rounds) {
    std::minstd_rand random(12345);
    int taken[2] = {-1, -1};  // the freed number's new owner, and its peer
    const auto give_back = [&] {
      for (int& fd : taken) {
        if (fd >= 0) ::close(std::exchange(fd, -1));
      }
    };
    for (int i = 0; i < rounds && !stop_; ++i) {
      // The reader's path takes a few microseconds on one machine, more on another: the delay
      // ranges cycle from a few dozen pauses to several hundred.
      std::uniform_int_distribution<int> spins(0, 50 << (i % 5));
      net::stream* s = nullptr;
      while ((s = target_.load(std::memory_order_acquire)) == nullptr) {
        if (stop_) {
          give_back();
          return;
        }
      }
      give_back();  // the last round is over: its reader is waiting for the next target
      for (int n = spins(random); n > 0; --n) __builtin_ia32_pause();
      s->close();
      (void)::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, taken);
      target_.store(nullptr, std::memory_order_release);
    }
    give_back();
  }

  reader_kind kind_;
  int rounds_run_ = 0;

 public:
  [[nodiscard]] int rounds_run() const noexcept { return rounds_run_; }

 private:
  std::atomic<net::stream*> target_{nullptr};
  std::atomic<bool> stop_{false};
};

}  // namespace

TEST(NetCloseRace, CloseFromAnotherThreadAlwaysWakesAFiberReader) {
  close_race race(reader_kind::fiber);
  EXPECT_EQ(race.run(2000, 3s), 0)
      << "a fiber slept until its deadline although its stream was closed (round "
      << race.rounds_run() << ")";
}

TEST(NetCloseRace, CloseFromAnotherThreadAlwaysWakesACoroutineReader) {
  close_race race(reader_kind::coroutine);
  EXPECT_EQ(race.run(2000, 3s), 0)
      << "a coroutine slept until its deadline although its stream was closed (round "
      << race.rounds_run() << ")";
}

TEST(NetCloseRace, CloseFromAnotherThreadAlwaysWakesAReaderThatWaitsWithoutTrying) {
  close_race race(reader_kind::settled_fiber);
  EXPECT_EQ(race.run(2000, 3s), 0)
      << "a fiber whose read went straight to its wait slept until its deadline although its "
         "stream was closed (round "
      << race.rounds_run() << ")";
}

// A plain thread waits in poll(2), which neither close() nor the reactor can reach: close()
// shuts the socket down first. A poll that starts after the number was closed and taken by
// another socket would wait on that socket until its deadline.
TEST(NetCloseRace, CloseFromAnotherThreadAlwaysWakesAPlainThreadReader) {
  close_race race(reader_kind::plain_thread);
  EXPECT_EQ(race.run(2000, 3s), 0)
      << "a plain thread slept until its deadline although its stream was closed (round "
      << race.rounds_run() << ")";
}
