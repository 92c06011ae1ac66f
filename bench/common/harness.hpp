// bench/common/harness.hpp — the tiny header-only harness shared by balrog's benchmark programs.
//
// Every benchmark program measures one or more *cases*. A case has a balrog side and, usually,
// a peer (the thing balrog is compared with). The harness runs both sides for N rounds in the
// same process, alternating them, computes medians and prints one JSON object per case on
// stdout (see emit()). scripts/bench collects those lines, computes ratios from the medians,
// evaluates the goals and writes bench/results/<area>.json (contract: /BENCH.md of the
// project's shared notes, quoted in docs/benchmarks.md).
//
// Why not Google Benchmark (libbenchmark-dev is installed): we need (1) balrog and its peer
// alternated round by round inside one process, so that machine noise on this 2-core box hits
// both sides alike, (2) cases whose rounds must each run in a fresh process (memory, echo
// server) and (3) one custom JSON object per case holding both sides' raw samples. Google
// Benchmark measures one function at a time, repeats it back to back and has its own JSON
// shape; bending it to the above would be more code than this header.
//
// Honesty rules the harness enforces:
//  - time comes from std::chrono::steady_clock;
//  - each side runs one warm-up round first, and its sample is discarded;
//  - rounds alternate the order of the two sides (B,P then P,B ...), so neither always runs
//    first on a warmer or colder machine;
//  - the reported value is the median of the kept rounds (at least 5);
//  - micro cases run many iterations per round and report time per operation; results that
//    the compiler could otherwise drop go through do_not_optimize().
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

extern char** environ;

namespace balrog_bench {

// --- optimization barriers -----------------------------------------------------------------

// Makes the compiler believe `value` is read (and memory clobbered): the computation that
// produced it cannot be removed or hoisted out of the timed loop.
template <class T>
inline void do_not_optimize(const T& value) noexcept {
  asm volatile("" : : "r,m"(value) : "memory");
}

// A compiler-only memory fence: forces pending stores out and later loads to re-read memory.
inline void clobber_memory() noexcept { asm volatile("" : : : "memory"); }

// --- time ----------------------------------------------------------------------------------

using bench_clock = std::chrono::steady_clock;

inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(bench_clock::now().time_since_epoch())
      .count();
}

// --- statistics ----------------------------------------------------------------------------

inline double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

// --- command line --------------------------------------------------------------------------

// Options every benchmark program understands:
//   --rounds N    kept rounds per side (default 7; at least 5 are enforced)
//   --scale X     multiplies the iterations per round of micro cases (default 1.0)
//   --quick       shorthand for --rounds 5 --scale 0.2 (a smoke test, not a result)
// Anything else is left in `rest` for the program (e.g. child-process modes).
struct options {
  int rounds = 7;
  double scale = 1.0;
  std::vector<std::string> rest;

  // Iterations for a micro case: `base` scaled, never below 1.
  [[nodiscard]] std::size_t iterations(std::size_t base) const {
    const double n = static_cast<double>(base) * scale;
    return n < 1.0 ? 1 : static_cast<std::size_t>(n);
  }
};

inline options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--rounds" && i + 1 < argc) {
      o.rounds = std::atoi(argv[++i]);
    } else if (a == "--scale" && i + 1 < argc) {
      o.scale = std::atof(argv[++i]);
    } else if (a == "--quick") {
      o.rounds = 5;
      o.scale = 0.2;
    } else {
      o.rest.emplace_back(a);
    }
  }
  o.rounds = std::max(o.rounds, 5);  // BENCH.md: medians of at least 5 runs
  if (!(o.scale > 0.0)) o.scale = 1.0;
  return o;
}

// --- running rounds ------------------------------------------------------------------------

struct samples {
  std::vector<double> balrog;
  std::vector<double> peer;
};

// Runs one discarded warm-up round of each side, then `rounds` kept rounds of each,
// alternating which side goes first. Each callable runs one round and returns its sample
// (e.g. ns per operation).
template <class BalrogRound, class PeerRound>
samples alternate(int rounds, BalrogRound&& balrog_round, PeerRound&& peer_round) {
  samples s;
  (void)balrog_round();  // warm-up: caches, page faults, stack pools, lazy binding
  (void)peer_round();
  for (int r = 0; r < rounds; ++r) {
    if (r % 2 == 0) {
      s.balrog.push_back(balrog_round());
      s.peer.push_back(peer_round());
    } else {
      s.peer.push_back(peer_round());
      s.balrog.push_back(balrog_round());
    }
  }
  return s;
}

// One side only (cases without a peer).
template <class Round>
std::vector<double> repeat(int rounds, Round&& round, bool warm_up = true) {
  if (warm_up) (void)round();
  std::vector<double> v;
  for (int r = 0; r < rounds; ++r) v.push_back(round());
  return v;
}

// --- JSON output ---------------------------------------------------------------------------

inline std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

inline std::string json_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

inline std::string json_array(const std::vector<double>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ", ";
    out += json_number(v[i]);
  }
  return out + "]";
}

// One case, as printed on stdout. scripts/bench adds ratio, goal and met.
struct case_result {
  case_result(std::string name_, std::string unit_, std::string better_, std::string peer_ = {})
      : name(std::move(name_)),
        unit(std::move(unit_)),
        better(std::move(better_)),
        peer(std::move(peer_)) {}

  std::string name;    // "yield round trip"
  std::string unit;    // "ns", "bytes", "requests/s", "MiB"
  std::string better;  // "lower" or "higher"
  std::string peer;    // the peer's name; empty: no peer (JSON null)
  std::vector<double> balrog_samples;
  std::vector<double> peer_samples;
  bool warm_up_discarded = true;  // false for fresh-process cases, where it means nothing
  std::string note;               // how it was measured, in a sentence or two
  // Extra fields, already JSON-encoded ("iterations_per_round": "1000000").
  std::vector<std::pair<std::string, std::string>> extra;

  case_result& with(std::string key, double value) {
    extra.emplace_back(std::move(key), json_number(value));
    return *this;
  }
  case_result& with(std::string key, const std::string& value) {
    extra.emplace_back(std::move(key), json_string(value));
    return *this;
  }
  case_result& with_samples(std::string key, const std::vector<double>& values) {
    extra.emplace_back(std::move(key), json_array(values));
    return *this;
  }
};

// Prints `c` as one line of JSON on stdout and flushes.
inline void emit(const case_result& c) {
  std::string out = "{";
  out += "\"case\": " + json_string(c.name);
  out += ", \"unit\": " + json_string(c.unit);
  out += ", \"better\": " + json_string(c.better);
  out += ", \"rounds\": " + std::to_string(c.balrog_samples.size());
  out += ", \"warm_up_discarded\": " + std::string(c.warm_up_discarded ? "true" : "false");
  out += ", \"balrog\": " + json_number(median(c.balrog_samples));
  out += ", \"balrog_samples\": " + json_array(c.balrog_samples);
  if (c.peer.empty()) {
    out += ", \"peer\": null, \"peer_value\": null, \"peer_samples\": null";
  } else {
    out += ", \"peer\": " + json_string(c.peer);
    out += ", \"peer_value\": " + json_number(median(c.peer_samples));
    out += ", \"peer_samples\": " + json_array(c.peer_samples);
  }
  for (const auto& [key, value] : c.extra) out += ", " + json_string(key) + ": " + value;
  if (!c.note.empty()) out += ", \"note\": " + json_string(c.note);
  out += "}\n";
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

// --- memory --------------------------------------------------------------------------------

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"); -1 if absent.
inline long long proc_status_bytes(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      return std::atoll(line.c_str() + prefix.size()) * 1024LL;  // the kernel prints kB
    }
  }
  return -1;
}
inline long long rss_bytes() { return proc_status_bytes("VmRSS"); }
inline long long peak_rss_bytes() { return proc_status_bytes("VmHWM"); }

// --- fresh processes -----------------------------------------------------------------------

// Child-process rounds talk to their driver with "key value" pairs on one line of stdout:
//   "fibers 100000 rss_before 3211264 rss_after 712343552"
using record = std::map<std::string, double>;

inline std::string format_record(const record& r) {
  std::string out;
  for (const auto& [k, v] : r) {
    if (!out.empty()) out += ' ';
    out += k + ' ' + json_number(v);
  }
  return out;
}

inline record parse_record(const std::string& line) {
  record r;
  std::istringstream in(line);
  std::string key;
  double value = 0;
  while (in >> key >> value) r[key] = value;
  return r;
}

// A child process running this same program (/proc/self/exe) with other arguments, with
// pipes to its stdin and from its stdout; stderr is inherited.
class child_process {
 public:
  explicit child_process(const std::vector<std::string>& args) {
    int in_pipe[2];
    int out_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) fail("pipe2");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    std::vector<std::string> full;
    full.emplace_back(self_path());
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    if (rc != 0) {
      errno = rc;
      fail("posix_spawn");
    }
    stdin_fd_ = in_pipe[1];
    stdout_fd_ = out_pipe[0];
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    close_stdin();
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    if (pid_ > 0) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  // The next line of the child's stdout (without '\n'); nullopt at end of file.
  std::optional<std::string> read_line() {
    for (;;) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      char chunk[4096];
      const ssize_t n = ::read(stdout_fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("read from child");
      if (n == 0) {
        if (buffer_.empty()) return std::nullopt;
        return std::exchange(buffer_, {});
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // The next line, which must exist.
  std::string expect_line(const char* what) {
    auto line = read_line();
    if (!line) throw std::runtime_error(std::string("child ended before printing ") + what);
    return *line;
  }

  // Closes the child's stdin: children that serve until told to stop read it to EOF.
  void close_stdin() {
    if (stdin_fd_ >= 0) ::close(stdin_fd_);
    stdin_fd_ = -1;
  }

  // CPU time (user + system) the child used, all its threads; valid after wait_success().
  [[nodiscard]] double cpu_seconds() const {
    return seconds(usage_.ru_utime) + seconds(usage_.ru_stime);
  }

  // Waits for the child; throws unless it exited with status 0.
  void wait_success() {
    int status = 0;
    while (::wait4(pid_, &status, 0, &usage_) < 0) {
      if (errno != EINTR) fail("wait4");
    }
    pid_ = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      throw std::runtime_error("benchmark child process failed (status " + std::to_string(status) +
                               ")");
    }
  }

 private:
  static std::string self_path() {
    char buf[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) fail("readlink /proc/self/exe");
    return std::string(buf, static_cast<std::size_t>(n));
  }
  static double seconds(const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  }
  [[noreturn]] static void fail(const char* what) {
    throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
  }

  pid_t pid_ = -1;
  rusage usage_{};
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
};

// Runs this program with `args` and returns the record on the child's last line of stdout,
// plus "child_cpu_s": the CPU time the child used.
inline record run_child(const std::vector<std::string>& args) {
  child_process child(args);
  child.close_stdin();
  std::string last;
  while (auto line = child.read_line()) last = *line;
  child.wait_success();
  record r = parse_record(last);
  r["child_cpu_s"] = child.cpu_seconds();
  return r;
}

// main() helper: runs `body`, turns an escaping exception into a message and exit code 1.
template <class Body>
int guarded_main(Body&& body) {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "benchmark failed: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "benchmark failed: unknown exception\n");
  }
  return 1;
}

}  // namespace balrog_bench
