// System calls per query at concurrency 1 (issue 10): the driver must make no more than blocking
// libpq (sendto, a wait, recvfrom: 3). Counts, not time: each client (helpers/syscall_client.cpp)
// runs a closed loop of `SELECT 1` (prepared) under `strace -f`, and the test counts every system
// call of the querying thread between the two marker calls that bracket the loop (after
// connect, prepare and a warm-up), so set-up costs nothing and a busy machine changes nothing.
// The calls of other threads in that window are listed, not counted: they depend on time, not
// on queries (the watchdog's thread wakes every 25 ms). Under AddressSanitizer the allocator is
// the sanitizer's, which maps memory as its quarantine grows: its memory-mapping calls are
// listed, not counted, in that build (every other build counts them).
//
// strace comes from scripts/bootstrap (Debian package strace); without it the test fails.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "support/pg_cluster.hpp"

#ifndef BALROG_PG_SYSCALL_CLIENT
#error "BALROG_PG_SYSCALL_CLIENT must name the pg_syscall_client helper"
#endif

using balrog::test::pg_cluster;

namespace {

constexpr int queries = 500;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool asan_allocator = true;
#else
constexpr bool asan_allocator = false;
#endif

bool sanitizer_allocator_call(const std::string& name) {
  return asan_allocator && (name == "mmap" || name == "munmap" || name == "madvise");
}

struct count {
  long total = 0;
  std::map<std::string, long> by_name;
  std::map<std::string, long> other_threads;
  std::map<std::string, long> asan_allocator;
  double per_query() const { return static_cast<double>(total) / queries; }
  std::string describe() const {
    std::ostringstream o;
    o << total << " calls for " << queries << " queries (" << per_query() << " per query):";
    for (const auto& [name, n] : by_name) o << " " << name << " " << n;
    if (!other_threads.empty()) o << "; other threads (not counted):";
    for (const auto& [name, n] : other_threads) o << " " << name << " " << n;
    if (!asan_allocator.empty()) o << "; ASan's allocator (not counted):";
    for (const auto& [name, n] : asan_allocator) o << " " << name << " " << n;
    return o.str();
  }
};

// Runs the helper in `mode` under strace -f and counts the calls between the markers. Every
// line of `strace -f -o` is "PID name(args...) = result", "PID <... name resumed> ...",
// "PID --- SIG... ---" or "PID +++ exited ... +++"; a call counts once, on its first line.
count traced(const std::string& mode) {
  char log_template[] = "/tmp/balrog-syscalls-XXXXXX";
  const int fd = ::mkstemp(log_template);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  const std::string log = log_template;
  // LeakSanitizer cannot run under a tracer (it ptraces the process itself at exit).
  const std::string command =
      "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" strace -f -qq -o " + log +
      " " + BALROG_PG_SYSCALL_CLIENT + " " + mode + " '" + pg_cluster::tcp_conninfo() +
      " sslmode=disable' " + std::to_string(queries);
  const int status = std::system(command.c_str());
  if (status != 0) {
    ::unlink(log.c_str());
    throw std::runtime_error("'" + command + "' failed with status " + std::to_string(status) +
                             " (is strace installed? scripts/bootstrap installs it)");
  }
  count c;
  int markers = 0;
  std::string querying_thread;  // the pid on the marker lines
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    const std::size_t pid_end = line.find_first_not_of("0123456789");
    if (pid_end == std::string::npos || pid_end == 0) continue;
    const std::size_t at = line.find_first_not_of(' ', pid_end);
    if (at == std::string::npos) continue;
    const std::string pid = line.substr(0, pid_end);
    const std::string rest = line.substr(at);
    if (rest.find("\"/balrog-syscall-count/") != std::string::npos) {
      ++markers;
      querying_thread = pid;
      continue;
    }
    if (markers != 1 || rest.starts_with("<...") || rest.starts_with("---") ||
        rest.starts_with("+++")) {
      continue;
    }
    const std::size_t paren = rest.find('(');
    if (paren == std::string::npos) continue;
    const std::string name = rest.substr(0, paren);
    if (pid != querying_thread) {
      ++c.other_threads[name];
    } else if (sanitizer_allocator_call(name)) {
      ++c.asan_allocator[name];
    } else {
      ++c.total;
      ++c.by_name[name];
    }
  }
  ::unlink(log.c_str());
  if (markers != 2) {
    throw std::runtime_error("the trace of " + mode + " has " + std::to_string(markers) +
                             " marker calls, not 2");
  }
  return c;
}

}  // namespace

TEST(PgSyscalls, TheDriverAtConcurrencyOneMakesNoMoreCallsPerQueryThanBlockingLibpq) {
  const count libpq = traced("libpq");
  const count fiber = traced("fiber");
  const count sync = traced("sync");
  std::printf("libpq: %s\nfiber: %s\nsync: %s\n", libpq.describe().c_str(),
              fiber.describe().c_str(), sync.describe().c_str());
  // libpq makes sendto, poll, recvfrom per query: the count is what we think it is.
  EXPECT_GE(libpq.per_query(), 3.0) << libpq.describe();
  // On a fiber (balrog::run) and in sync mode (a plain thread: block_on per query).
  EXPECT_LE(fiber.total, libpq.total)
      << "fiber: " << fiber.describe() << "\nlibpq: " << libpq.describe();
  EXPECT_LE(sync.total, libpq.total)
      << "sync: " << sync.describe() << "\nlibpq: " << libpq.describe();
}
