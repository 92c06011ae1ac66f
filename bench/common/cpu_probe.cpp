// bench/common/cpu_probe.cpp — bench_cpu_probe: is one of this machine's CPUs slower right now?
//
// On this VM the two vCPUs are not always equal: at times one of them (either) gets far less
// instruction throughput than the other (a busy SMT sibling on the host) while its clock stays
// the same. A benchmark process that starts on that vCPU is slow its whole life, so results come
// out bimodal. scripts/bench runs this probe before and after each benchmark program and keeps
// what it prints in the area's JSON ("cpu_probe"), so a reader can tell an affected run.
//
// Pinned to each CPU this process may run on (sched_setaffinity), in turn, it times three loops:
//  - adds: 12 independent register adds per iteration, bound by how many ALU operations the
//    core issues per cycle;
//  - loads: 3 independent loads from one cache line (L1) per iteration, bound by the load ports;
//  - latency: a chain of 4 dependent adds per iteration, one add per cycle: bound by the clock
//    alone, so it stays put under a busy sibling and moves only when the clock does.
// A busy sibling slows the two throughput loops (measured here: adds 1.15-1.4x, loads
// 1.5-2.0x, against 1.00-1.07x for both when the CPUs are equal) and leaves latency alone.
// Each loop runs `iterations` times (0.5-2.5 ms); a CPU's value is the median of `repeats`
// timings in ns of thread CPU time per iteration, after one warm-up timing. The CPUs take turns
// repeat by repeat.
//
// Prints one JSON object on stdout:
//   {"probe": "cpu", "loops": {"adds": "...", "loads": "...", "latency": "..."},
//    "iterations": N, "repeats": N,
//    "cpus": [{"cpu": 0, "adds_ns": 0.77, "loads_ns": 0.28, "latency_ns": 1.13}, ...],
//    "slowest_over_fastest": {"adds": 1.0, "loads": 1.0, "latency": 1.0},
//    "throughput_slowest_over_fastest": 1.0}
// The last is the larger of the adds and loads ratios: well above 1 (with latency near 1) is
// the unequal state.
//
// Options: --iterations N (per timing, default 2,000,000), --repeats N (default 7).
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "harness.hpp"

namespace {

// The thread's CPU time, not the wall clock: on this shared 2-core machine the probe is often
// preempted by other processes mid-loop, and those time slices must not count. (Time the host
// takes the vCPU away still counts: the guest kernel sees it as the thread running.)
std::int64_t cpu_now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double per_iteration(std::int64_t t0, std::int64_t t1, std::size_t iterations) {
  return static_cast<double>(t1 - t0) / static_cast<double>(iterations);
}

// In the loops below, the empty asm statements claim to read and rewrite their operands: the
// compiler must keep every add and load, in registers, in this order, and can neither fold
// iterations together nor vectorize them.

[[gnu::noinline]] double adds_ns(std::size_t iterations) {
  std::uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0;
  std::uint64_t a6 = 0, a7 = 0, a8 = 0, a9 = 0, a10 = 0, a11 = 0;
  const std::int64_t t0 = cpu_now_ns();
  for (std::size_t i = 0; i < iterations; ++i) {
    a0 += 1, a1 += 1, a2 += 1, a3 += 1, a4 += 1, a5 += 1;
    a6 += 1, a7 += 1, a8 += 1, a9 += 1, a10 += 1, a11 += 1;
    asm volatile("" : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3), "+r"(a4), "+r"(a5));
    asm volatile("" : "+r"(a6), "+r"(a7), "+r"(a8), "+r"(a9), "+r"(a10), "+r"(a11));
  }
  const std::int64_t t1 = cpu_now_ns();
  balrog_bench::do_not_optimize(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
  return per_iteration(t0, t1, iterations);
}

alignas(64) std::uint64_t line[8] = {1, 2, 3, 4, 5, 6, 7, 8};

[[gnu::noinline]] double loads_ns(std::size_t iterations) {
  const std::uint64_t* p = line;
  const std::int64_t t0 = cpu_now_ns();
  for (std::size_t i = 0; i < iterations; ++i) {
    asm volatile("" : "+r"(p));  // p may have changed: the loads must be done again
    const std::uint64_t x0 = p[0], x1 = p[1], x2 = p[2];
    asm volatile("" : : "r"(x0), "r"(x1), "r"(x2));
  }
  const std::int64_t t1 = cpu_now_ns();
  return per_iteration(t0, t1, iterations);
}

[[gnu::noinline]] double latency_ns(std::size_t iterations) {
  std::uint64_t x = 0;
  const std::int64_t t0 = cpu_now_ns();
  for (std::size_t i = 0; i < iterations; ++i) {
    x += 1;
    asm volatile("" : "+r"(x));
    x += 1;
    asm volatile("" : "+r"(x));
    x += 1;
    asm volatile("" : "+r"(x));
    x += 1;
    asm volatile("" : "+r"(x));
  }
  const std::int64_t t1 = cpu_now_ns();
  balrog_bench::do_not_optimize(x);
  return per_iteration(t0, t1, iterations);
}

struct loop {
  const char* name;
  const char* what;
  double (*run)(std::size_t iterations);
};

constexpr std::array<loop, 3> loops = {{
    {"adds", "12 independent adds per iteration", adds_ns},
    {"loads", "3 independent loads from one cache line per iteration", loads_ns},
    {"latency", "4 dependent adds per iteration", latency_ns},
}};

struct cpu_timings {
  int cpu;
  std::array<std::vector<double>, loops.size()> samples;
};

bool pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

double slowest_over_fastest(const std::vector<double>& v) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return *lo > 0.0 ? *hi / *lo : 0.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t iterations = 2'000'000;
  int repeats = 7;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--iterations" && i + 1 < argc) {
      iterations = std::max<std::size_t>(1000, std::strtoull(argv[++i], nullptr, 10));
    } else if (a == "--repeats" && i + 1 < argc) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--iterations N] [--repeats N]\n", argv[0]);
      return 2;
    }
  }

  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
    std::fprintf(stderr, "bench_cpu_probe: sched_getaffinity: %s\n", std::strerror(errno));
    return 1;
  }
  std::vector<cpu_timings> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back({cpu, {}});
  }

  // Repeat 0 is the warm-up (page faults, the clock settling after the migration): not kept.
  for (int r = 0; r <= repeats; ++r) {
    for (cpu_timings& c : cpus) {
      if (!pin_to(c.cpu)) {
        std::fprintf(stderr, "bench_cpu_probe: sched_setaffinity(CPU %d): %s\n", c.cpu,
                     std::strerror(errno));
        return 1;
      }
      for (std::size_t l = 0; l < loops.size(); ++l) {
        const double ns = loops[l].run(iterations);
        if (r > 0) c.samples[l].push_back(ns);
      }
    }
  }
  sched_setaffinity(0, sizeof allowed, &allowed);

  std::array<std::vector<double>, loops.size()> medians;  // per loop, one per CPU
  std::string per_cpu;
  for (const cpu_timings& c : cpus) {
    per_cpu += per_cpu.empty() ? "{" : ", {";
    per_cpu += "\"cpu\": " + std::to_string(c.cpu);
    for (std::size_t l = 0; l < loops.size(); ++l) {
      medians[l].push_back(balrog_bench::median(c.samples[l]));
      per_cpu += std::string(", \"") + loops[l].name +
                 "_ns\": " + balrog_bench::json_number(medians[l].back());
    }
    per_cpu += "}";
  }
  std::string what, ratios;
  for (std::size_t l = 0; l < loops.size(); ++l) {
    const char* sep = l == 0 ? "" : ", ";
    what += sep + balrog_bench::json_string(loops[l].name) + ": " +
            balrog_bench::json_string(loops[l].what);
    ratios += sep + balrog_bench::json_string(loops[l].name) + ": " +
              balrog_bench::json_number(slowest_over_fastest(medians[l]));
  }
  const double throughput =
      std::max(slowest_over_fastest(medians[0]), slowest_over_fastest(medians[1]));
  std::printf(
      "{\"probe\": \"cpu\", \"loops\": {%s}, \"iterations\": %zu, \"repeats\": %d, \"cpus\": [%s], "
      "\"slowest_over_fastest\": {%s}, \"throughput_slowest_over_fastest\": %s}\n",
      what.c_str(), iterations, repeats, per_cpu.c_str(), ratios.c_str(),
      balrog_bench::json_number(throughput).c_str());
  return 0;
}
