// client_load: the client sides of the HTTP client benchmark (bench/http/client_bench.py).
//
//   client_load --mode balrog   --url U --inflight N --seconds S --warmup W
//       ONE thread: N fibers, each looping http::blocking::get(U) (the generated blocking face
//       of balrog's client; connections reused through the thread's multi handle).
//   client_load --mode easy-threads --url U --inflight N --seconds S --warmup W
//       N threads, each with its own easy handle, looping libcurl's curl_easy_perform.
//   Both print "requests R seconds T cpu C": requests completed in the window of S seconds
//   after W seconds of warm-up, and the process's CPU seconds in that window.
//
//   client_load --mode compat         --url U --count N
//       ONE thread: N fibers, each one balrog::compat::curl_easy_perform(U) on a new handle.
//   client_load --mode compat-threads --url U --count N
//       N threads, each one libcurl curl_easy_perform(U).
//   Both print "wall_ms M": from the start of the first request until the last one is done.
// Exit status 1 when a request failed.
#include <curl/curl.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "balrog/fiber.hpp"
#include "balrog/http/client.hpp"
#include "balrog/http/compat/libcurl.hpp"
#include "balrog/http/generated/client_blocking.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"

namespace {

using steady = std::chrono::steady_clock;

struct args {
  std::string mode;
  std::string url;
  int inflight = 1;
  int count = 1000;
  double seconds = 5;
  double warmup = 1;
};

args parse(int argc, char** argv) {
  args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--mode") a.mode = v;
    if (k == "--url") a.url = v;
    if (k == "--inflight") a.inflight = std::atoi(v);
    if (k == "--count") a.count = std::atoi(v);
    if (k == "--seconds") a.seconds = std::atof(v);
    if (k == "--warmup") a.warmup = std::atof(v);
  }
  return a;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::size_t discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

// The measuring window shared by the workers of one run: they count completions between
// `start` and `end`; the first to see the window open takes the CPU reading.
struct window {
  steady::time_point start;
  steady::time_point end;
  std::atomic<long> counted{0};
  std::atomic<bool> failed{false};

  window(double warmup, double seconds)
      : start(steady::now() +
              std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(warmup))),
        end(start +
            std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds))) {}
  // One request done at `t`; false once the window closed.
  bool done(steady::time_point t) {
    if (t >= start && t < end) counted.fetch_add(1, std::memory_order_relaxed);
    return t < end;
  }
};

int report(window& w, double cpu_at_start) {
  const double cpu = cpu_seconds() - cpu_at_start;
  std::printf("requests %ld seconds %.6f cpu %.6f\n", w.counted.load(),
              std::chrono::duration<double>(w.end - w.start).count(), cpu);
  return w.failed ? 1 : 0;
}

int run_balrog(const args& a) {
  return balrog::run([&] {
    window w(a.warmup, a.seconds);
    double cpu_at_start = 0;
    auto cpu_reader = balrog::spawn([&] {
      balrog::this_fiber::sleep_until(w.start);
      cpu_at_start = cpu_seconds();
    });
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < a.inflight; ++i) {
      fibers.push_back(balrog::spawn([&] {
        try {
          do {
            if (balrog::http::blocking::get(a.url).status() != 200) w.failed = true;
          } while (w.done(steady::now()));
        } catch (const std::exception& e) {
          std::fprintf(stderr, "client_load: %s\n", e.what());
          w.failed = true;
        }
      }));
    }
    cpu_reader.join();
    for (auto& f : fibers) f.join();
    return report(w, cpu_at_start);
  });
}

int run_easy_threads(const args& a) {
  window w(a.warmup, a.seconds);
  std::atomic<double> cpu_at_start{0};
  std::thread cpu_reader([&] {
    std::this_thread::sleep_until(w.start);
    cpu_at_start = cpu_seconds();
  });
  std::vector<std::thread> threads;
  for (int i = 0; i < a.inflight; ++i) {
    threads.emplace_back([&] {
      CURL* h = curl_easy_init();
      curl_easy_setopt(h, CURLOPT_URL, a.url.c_str());
      curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard);
      curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
      do {
        if (curl_easy_perform(h) != CURLE_OK) w.failed = true;
      } while (w.done(steady::now()));
      curl_easy_cleanup(h);
    });
  }
  cpu_reader.join();
  for (auto& t : threads) t.join();
  return report(w, cpu_at_start);
}

// One curl_easy_perform of `url` on a new handle, through `perform`.
bool perform_once(const std::string& url, CURLcode (*perform)(CURL*)) {
  CURL* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  const bool ok = perform(h) == CURLE_OK;
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  return ok && status == 200;
}

int run_compat(const args& a, bool fibers) {
  std::atomic<int> failures{0};
  const auto t0 = steady::now();
  if (fibers) {
    balrog::run([&] {
      std::vector<balrog::fiber<void>> all;
      all.reserve(static_cast<std::size_t>(a.count));
      for (int i = 0; i < a.count; ++i) {
        all.push_back(balrog::spawn([&] {
          if (!perform_once(a.url, &balrog::compat::curl_easy_perform)) ++failures;
        }));
      }
      for (auto& f : all) f.join();
    });
  } else {
    std::vector<std::thread> all;
    for (int i = 0; i < a.count; ++i) {
      all.emplace_back([&] {
        if (!perform_once(a.url, &::curl_easy_perform)) ++failures;
      });
    }
    for (auto& t : all) t.join();
  }
  const double ms = std::chrono::duration<double, std::milli>(steady::now() - t0).count();
  std::printf("wall_ms %.3f failures %d\n", ms, failures.load());
  return failures > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const args a = parse(argc, argv);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (a.mode == "balrog") return run_balrog(a);
  if (a.mode == "easy-threads") return run_easy_threads(a);
  if (a.mode == "compat") return run_compat(a, true);
  if (a.mode == "compat-threads") return run_compat(a, false);
  std::fprintf(stderr, "client_load: unknown --mode %s\n", a.mode.c_str());
  return 2;
}
