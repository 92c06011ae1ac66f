// balrog::compat::curl_easy_perform, curl_multi_wait and curl_multi_poll: libcurl's contract
// (CURLcode, options, callbacks and their return values, the error buffer), on a plain thread
// and on fibers, where callbacks run on the calling fiber and may block balrog-style; the
// C-style ends of cancellation and deadlines; 1,000 fibers on one thread.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/fiber.hpp"
#include "balrog/http/compat/libcurl.hpp"
#include "balrog/run.hpp"
#include "balrog/sync.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"
#include "support/client_helpers.hpp"
#include "support/peers.hpp"
#include "support/test_pki.hpp"

using namespace std::chrono_literals;
using balrog::test::nginx_peer;
using balrog::test::python_peer;
using steady = std::chrono::steady_clock;

namespace {

struct easy_handle {
  CURL* h = curl_easy_init();
  easy_handle() = default;
  easy_handle(const easy_handle&) = delete;
  easy_handle& operator=(const easy_handle&) = delete;
  ~easy_handle() { curl_easy_cleanup(h); }
};

std::size_t append(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// A GET of `url` into `body`, the way existing libcurl code does it.
CURLcode perform_get(CURL* h, const std::string& url, std::string& body) {
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  return balrog::compat::curl_easy_perform(h);
}

long status_of(CURL* h) {
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

TEST(HttpCompat, SyncModeIsLibcurlItself) {
  easy_handle e;
  std::string body;
  EXPECT_EQ(perform_get(e.h, python_peer::url("/bytes/1000"), body), CURLE_OK);
  EXPECT_EQ(status_of(e.h), 200);
  EXPECT_TRUE(balrog::test::is_pattern(body));
}

TEST(HttpCompat, OnAFiber) {
  balrog::run([] {
    easy_handle e;
    std::string body;
    EXPECT_EQ(perform_get(e.h, python_peer::url("/chunked/300000?pieces=5"), body), CURLE_OK);
    EXPECT_EQ(status_of(e.h), 200);
    EXPECT_EQ(body.size(), 300000u);
    EXPECT_TRUE(balrog::test::is_pattern(body));
  });
}

TEST(HttpCompat, ErrorsAreLibcurls) {
  const std::uint16_t closed = balrog::test::free_port();
  balrog::run([&] {
    easy_handle e;
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(e.h, CURLOPT_ERRORBUFFER, error);
    std::string body;
    EXPECT_EQ(perform_get(e.h, "http://127.0.0.1:" + std::to_string(closed) + "/", body),
              CURLE_COULDNT_CONNECT);
    EXPECT_NE(std::string(error).find("Failed to connect"), std::string::npos) << error;

    easy_handle t;
    curl_easy_setopt(t.h, CURLOPT_TIMEOUT_MS, 200L);
    EXPECT_EQ(perform_get(t.h, python_peer::url("/hang"), body), CURLE_OPERATION_TIMEDOUT);

    // A write callback's short count aborts, as in libcurl.
    easy_handle w;
    curl_easy_setopt(w.h, CURLOPT_URL, python_peer::url("/bytes/1000").c_str());
    curl_easy_setopt(
        w.h, CURLOPT_WRITEFUNCTION,
        +[](char*, std::size_t, std::size_t, void*) -> std::size_t { return 0; });
    EXPECT_EQ(balrog::compat::curl_easy_perform(w.h), CURLE_WRITE_ERROR);
    EXPECT_EQ(balrog::compat::curl_easy_perform(nullptr), CURLE_BAD_FUNCTION_ARGUMENT);
  });
}

// A fiber counting milliseconds: it only advances while the shard is free to run it.
class ticker {
 public:
  ticker()
      : fiber_(balrog::spawn([this] {
          while (!stop_) {
            balrog::this_fiber::sleep_for(1ms);
            ++ticks_;
          }
        })) {}
  // Stops it; returns how many ticks it counted.
  int stop() {
    stop_ = true;
    if (fiber_.joinable()) fiber_.join();
    return ticks_;
  }
  ~ticker() { stop(); }

 private:
  bool stop_ = false;
  int ticks_ = 0;
  balrog::fiber<void> fiber_;
};

struct blocking_writer {
  std::string body;
  balrog::fiber_id caller;
  bool on_caller = true;
  int calls = 0;
  static std::size_t write(char* data, std::size_t size, std::size_t n, void* self_ptr) {
    auto* self = static_cast<blocking_writer*>(self_ptr);
    self->on_caller = self->on_caller && balrog::this_fiber::id() == self->caller;
    ++self->calls;
    balrog::this_fiber::sleep_for(5ms);  // blocks balrog-style: only this fiber waits
    self->body.append(data, size * n);
    return size * n;
  }
};

TEST(HttpCompat, CallbacksRunOnTheCallingFiberAndMayBlock) {
  balrog::run([] {
    ticker ticks;
    easy_handle e;
    blocking_writer w;
    w.caller = balrog::this_fiber::id();
    std::vector<std::string> headers;
    curl_easy_setopt(e.h, CURLOPT_URL, python_peer::url("/chunked/200000?pieces=10&ms=5").c_str());
    curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, &blocking_writer::write);
    curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &w);
    curl_easy_setopt(
        e.h, CURLOPT_HEADERFUNCTION,
        +[](char* d, std::size_t s, std::size_t n, void* out) -> std::size_t {
          static_cast<std::vector<std::string>*>(out)->emplace_back(d, s * n);
          return s * n;
        });
    curl_easy_setopt(e.h, CURLOPT_HEADERDATA, &headers);
    EXPECT_EQ(balrog::compat::curl_easy_perform(e.h), CURLE_OK);
    EXPECT_TRUE(w.on_caller);
    EXPECT_GT(w.calls, 1);
    EXPECT_EQ(w.body.size(), 200000u);
    EXPECT_GT(ticks.stop(), 10);  // the shard ran the ticker meanwhile
    ASSERT_FALSE(headers.empty());
    EXPECT_EQ(headers[0].substr(0, 12), "HTTP/1.1 200");
  });
}

TEST(HttpCompat, ReadCallbackMayBlockOnAChannel) {
  balrog::run([] {
    balrog::channel<std::string> pieces(1);
    auto producer = balrog::spawn([&] {
      for (int i = 0; i < 5; ++i) {
        balrog::this_fiber::sleep_for(5ms);
        pieces.push("piece" + std::to_string(i) + ";");
      }
      pieces.close();
    });
    struct source {
      balrog::channel<std::string>* ch;
      std::string pending;
    } src{&pieces, {}};
    easy_handle e;
    std::string body;
    curl_easy_setopt(e.h, CURLOPT_URL, python_peer::url("/echo").c_str());
    curl_easy_setopt(e.h, CURLOPT_POST, 1L);
    curl_easy_setopt(
        e.h, CURLOPT_READFUNCTION,
        +[](char* out, std::size_t size, std::size_t n, void* p) -> std::size_t {
          auto* s = static_cast<source*>(p);
          if (s->pending.empty()) {
            if (auto next = s->ch->pop()) s->pending = *next;  // blocks the fiber
          }
          const std::size_t k = std::min(s->pending.size(), size * n);
          s->pending.copy(out, k);
          s->pending.erase(0, k);
          return k;  // 0 at the end: the channel is closed and drained
        });
    curl_easy_setopt(e.h, CURLOPT_READDATA, &src);
    curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, &append);
    curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &body);
    EXPECT_EQ(balrog::compat::curl_easy_perform(e.h), CURLE_OK);
    producer.join();
    EXPECT_NE(body.find("\"body\": \"piece0;piece1;piece2;piece3;piece4;\""), std::string::npos)
        << body;
  });
}

TEST(HttpCompat, ProgressAndDebugCallbacks) {
  balrog::run([] {
    easy_handle e;
    std::string body;
    curl_easy_setopt(e.h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(
        e.h, CURLOPT_XFERINFOFUNCTION,
        +[](void*, curl_off_t, curl_off_t now, curl_off_t, curl_off_t) -> int {
          return now > 10000 ? 1 : 0;  // abort after 10 kB
        });
    EXPECT_EQ(perform_get(e.h, python_peer::url("/chunked/1000000?pieces=50&ms=2"), body),
              CURLE_ABORTED_BY_CALLBACK);

    easy_handle d;
    int debug_calls = 0;
    curl_easy_setopt(d.h, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(
        d.h, CURLOPT_DEBUGFUNCTION,
        +[](CURL*, curl_infotype, char*, std::size_t, void* calls) -> int {
          ++*static_cast<int*>(calls);
          return 0;
        });
    curl_easy_setopt(d.h, CURLOPT_DEBUGDATA, &debug_calls);
    body.clear();
    EXPECT_EQ(perform_get(d.h, python_peer::url("/echo"), body), CURLE_OK);
    EXPECT_GT(debug_calls, 0);
  });
}

TEST(HttpCompat, ReusingAnEasyHandleReusesItsConnection) {
  balrog::run([] {
    easy_handle e;
    std::string first;
    std::string second;
    ASSERT_EQ(perform_get(e.h, python_peer::url("/echo"), first), CURLE_OK);
    ASSERT_EQ(perform_get(e.h, python_peer::url("/echo"), second), CURLE_OK);
    const auto port = [](const std::string& s) {
      return boost::json::parse(s).as_object().at("client_port");
    };
    EXPECT_EQ(port(first), port(second));
  });
}

TEST(HttpCompat, HttpsAndHttp2) {
  balrog::run([] {
    easy_handle e;
    std::string body;
    curl_easy_setopt(e.h, CURLOPT_CAINFO, balrog::test::test_pki::get().ca_file.c_str());
    EXPECT_EQ(perform_get(e.h, nginx_peer::https_url("/echo-method"), body), CURLE_OK);
    EXPECT_EQ(body, "GET HTTP/2.0\n");
    easy_handle unverified;
    EXPECT_EQ(perform_get(unverified.h, nginx_peer::https_url("/hello"), body),
              CURLE_PEER_FAILED_VERIFICATION);
  });
}

TEST(HttpCompat, CancellationAndDeadlinesEndTheCallTheCWay) {
  balrog::run([] {
    {
      easy_handle e;
      std::string body;
      balrog::deadline_scope scope(200ms);
      errno = 0;
      EXPECT_EQ(perform_get(e.h, python_peer::url("/hang"), body), CURLE_OPERATION_TIMEDOUT);
      EXPECT_EQ(errno, ETIMEDOUT);
    }
    CURLcode result = CURLE_OK;
    int err = 0;
    auto f = balrog::spawn([&] {
      easy_handle e;
      std::string body;
      result = perform_get(e.h, python_peer::url("/hang"), body);
      err = errno;
    });
    balrog::this_fiber::sleep_for(50ms);
    f.cancel();
    f.join();  // the call returned, nothing was thrown
    EXPECT_EQ(result, CURLE_ABORTED_BY_CALLBACK);
    EXPECT_EQ(err, ECANCELED);
  });
}

TEST(HttpCompat, AHandleInAMultiHandleIsRefused) {
  balrog::run([] {
    easy_handle e;
    CURLM* m = curl_multi_init();
    curl_easy_setopt(e.h, CURLOPT_URL, python_peer::url("/echo").c_str());
    curl_multi_add_handle(m, e.h);
    EXPECT_EQ(balrog::compat::curl_easy_perform(e.h), CURLE_FAILED_INIT);
    curl_multi_remove_handle(m, e.h);
    curl_multi_cleanup(m);
  });
}

balrog::task<void> perform_in_coroutine() {
  easy_handle e;
  std::string body;
  errno = 0;
  EXPECT_EQ(perform_get(e.h, python_peer::url("/echo"), body), CURLE_RECURSIVE_API_CALL);
  EXPECT_EQ(errno, EDEADLK);
  co_return;
}

TEST(HttpCompat, CoroutineCodeIsRefused) {
  balrog::run([] { balrog::spawn_task(perform_in_coroutine()).join(); });
}

TEST(HttpCompat, AThousandFibersOnOneThread) {
  // Each fiber: curl_easy_perform against a server that answers after 100 ms. They all
  // complete; the bound only catches a hang (speed is the benchmark's business).
  constexpr int n = 1000;
  std::atomic<int> ok{0};
  const auto t0 = steady::now();
  balrog::run([&] {
    std::vector<balrog::fiber<void>> fibers;
    fibers.reserve(n);
    for (int i = 0; i < n; ++i) {
      fibers.push_back(balrog::spawn([&] {
        easy_handle e;
        std::string body;
        if (perform_get(e.h, python_peer::url("/slow?ms=100"), body) == CURLE_OK &&
            status_of(e.h) == 200) {
          ++ok;
        }
      }));
    }
    for (auto& f : fibers) f.join();
  });
  EXPECT_EQ(ok.load(), n);
  EXPECT_LT(steady::now() - t0, 120s);
}

TEST(HttpCompat, MultiPollAndWaitOnAFiber) {
  balrog::run([] {
    ticker ticks;
    CURLM* m = curl_multi_init();
    easy_handle a;
    easy_handle b;
    std::string body_a;
    std::string body_b;
    for (auto [h, body] : {std::pair{a.h, &body_a}, std::pair{b.h, &body_b}}) {
      curl_easy_setopt(h, CURLOPT_URL, python_peer::url("/slow?ms=100").c_str());
      curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &append);
      curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
      curl_multi_add_handle(m, h);
    }
    int running = 1;
    int rounds = 0;
    for (bool use_poll = true; running > 0; use_poll = !use_poll, ++rounds) {
      curl_multi_perform(m, &running);
      if (running == 0) break;
      int numfds = 0;
      const CURLMcode c = use_poll ? balrog::compat::curl_multi_poll(m, nullptr, 0, 1000, &numfds)
                                   : balrog::compat::curl_multi_wait(m, nullptr, 0, 1000, &numfds);
      EXPECT_EQ(c, CURLM_OK);
    }
    EXPECT_EQ(body_a, "slow\n");
    EXPECT_EQ(body_b, "slow\n");
    // The waits suspended the fiber, not the thread: a blocked thread leaves the 1 ms ticker
    // about one tick per round; a loaded machine stretches each tick, so the bound is loose.
    EXPECT_GT(ticks.stop(), rounds + 5);
    // An extra fd counts like libcurl's: a readable pipe ends the wait with numfds 1.
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    ASSERT_EQ(::write(p[1], "x", 1), 1);
    curl_waitfd extra{p[0], CURL_WAIT_POLLIN, 0};
    int numfds = 0;
    EXPECT_EQ(balrog::compat::curl_multi_wait(m, &extra, 1, 1000, &numfds), CURLM_OK);
    EXPECT_EQ(numfds, 1);
    EXPECT_NE(extra.revents & CURL_WAIT_POLLIN, 0);
    ::close(p[0]);
    ::close(p[1]);
    for (CURL* h : {a.h, b.h}) curl_multi_remove_handle(m, h);
    curl_multi_cleanup(m);
  });
}

}  // namespace
