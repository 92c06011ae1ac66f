#!/usr/bin/python3
"""Writes the generated tree of translation units that `scripts/bench gen` runs -j2 over.

    bench/gen/make_tree.py OUT_DIR [--count N]

Each TU is a deterministic mix (seeded by its index, no randomness between runs) of 2 to 4
"modules" drawn from the list below. A module is a small piece of ordinary synchronous code
with the blocking calls and sync types balrog-gen rewrites, plus the headers it needs. Most
modules pull in standard-library headers of everyday weight; <ranges>, Boost and libpq come
in at about the frequency one would expect in a service's source tree, so that the tree as a
whole is neither all-trivial nor all-heavy. Writes OUT_DIR/tu_NNN.cpp and removes stale
tu_*.cpp files; prints the number of TUs written. Standard library only.
"""

import argparse
import random
from pathlib import Path

# name -> (weight, headers, code). In code, @ is replaced by a per-TU suffix.
MODULES = {
    "socket_io": (
        5,
        ["sys/socket.h", "poll.h", "cerrno", "cstddef"],
        """
long send_all_@(int fd, const char* p, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t k = send(fd, p + done, n - done, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    done += static_cast<std::size_t>(k);
  }
  return static_cast<long>(done);
}

long recv_some_@(int fd, char* p, std::size_t cap) {
  pollfd w{fd, POLLIN, 0};
  if (poll(&w, 1, 500) <= 0) return -1;
  return recv(fd, p, cap, 0);
}
""",
    ),
    "posix_sleep": (
        3,
        ["unistd.h", "time.h"],
        """
void back_off_@(int attempt) {
  if (attempt < 3) {
    usleep(1000u << attempt);
  } else {
    timespec ts{0, 5'000'000};
    nanosleep(&ts, nullptr);
  }
}
""",
    ),
    "queue": (
        5,
        ["mutex", "condition_variable", "deque", "string"],
        """
class queue_@ {
 public:
  void push(std::string s) {
    {
      std::lock_guard<std::mutex> lock(m_);
      q_.push_back(std::move(s));
    }
    cv_.notify_one();
  }
  std::string pop() {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [this] { return !q_.empty(); });
    std::string s = std::move(q_.front());
    q_.pop_front();
    return s;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::string> q_;
};
""",
    ),
    "cache": (
        4,
        ["shared_mutex", "mutex", "unordered_map", "string", "optional"],
        """
class cache_@ {
 public:
  std::optional<std::string> get(const std::string& k) const {
    std::shared_lock lock(m_);
    auto it = map_.find(k);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  void put(const std::string& k, std::string v) {
    std::unique_lock lock(m_);
    map_[k] = std::move(v);
  }

 private:
  mutable std::shared_mutex m_;
  std::unordered_map<std::string, std::string> map_;
};
""",
    ),
    "threads": (
        4,
        ["thread", "chrono", "vector", "atomic"],
        """
int run_workers_@(int n) {
  std::atomic<int> done{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < n; ++i) {
    ts.emplace_back([&done, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(i));
      std::this_thread::yield();
      done.fetch_add(1);
    });
  }
  for (auto& t : ts) t.join();
  return done.load();
}
""",
    ),
    "timed": (
        2,
        ["mutex", "chrono"],
        """
bool try_for_@(std::timed_mutex& m) {
  if (!m.try_lock_for(std::chrono::milliseconds(10))) return false;
  std::this_thread::sleep_until(std::chrono::steady_clock::now());
  m.unlock();
  return true;
}
""",
    ),
    "logging": (
        3,
        ["sstream", "string", "mutex"],
        """
std::string format_line_@(const std::string& who, int code) {
  static std::mutex m;
  std::lock_guard lock(m);
  std::ostringstream os;
  os << who << ": " << code;
  return os.str();
}
""",
    ),
    "ranges": (
        2,
        ["ranges", "vector", "algorithm"],
        """
long sum_even_squares_@(const std::vector<int>& v) {
  long s = 0;
  for (int x : v | std::views::filter([](int i) { return i % 2 == 0; }) |
                   std::views::transform([](int i) { return i * i; }))
    s += x;
  return s;
}
""",
    ),
    "libpq": (
        1,
        ["libpq-fe.h", "string", "mutex"],
        """
std::string first_value_@(PGconn* c, std::mutex& m) {
  std::lock_guard<std::mutex> lock(m);
  PGresult* r = PQexec(c, "SELECT 1");
  std::string out = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
  PQclear(r);
  return out;
}
""",
    ),
    "boost_strings": (
        1,
        ["boost/algorithm/string.hpp", "string", "vector"],
        """
std::vector<std::string> split_words_@(const std::string& s) {
  std::vector<std::string> out;
  boost::algorithm::split(out, s, boost::algorithm::is_space(),
                          boost::algorithm::token_compress_on);
  return out;
}
""",
    ),
}

# "timed" uses sleep_until from <thread>.
EXTRA_HEADERS = {"timed": ["thread"]}


def make_tu(index: int) -> str:
    rng = random.Random(1000 + index)
    names = list(MODULES)
    weights = [MODULES[n][0] for n in names]
    chosen = []
    want = rng.randint(2, 4)
    while len(chosen) < want:
        n = rng.choices(names, weights)[0]
        if n not in chosen:
            chosen.append(n)
    headers = set()
    for n in chosen:
        headers.update(MODULES[n][1])
        headers.update(EXTRA_HEADERS.get(n, []))
    c_headers = sorted(h for h in headers if h.endswith(".h") and not h.startswith("boost/"))
    cxx_headers = sorted(h for h in headers if h not in c_headers)
    lines = [
        "// Generated by bench/gen/make_tree.py (TU %d: %s); do not edit."
        % (index, ", ".join(chosen)),
    ]
    lines += ["#include <%s>" % h for h in c_headers]
    lines.append("")
    lines += ["#include <%s>" % h for h in cxx_headers]
    lines.append("")
    lines.append("namespace tree_tu_%03d {" % index)
    for n in chosen:
        lines.append(MODULES[n][2].replace("@", str(index)).rstrip("\n"))
    lines.append("")
    lines.append("}  // namespace tree_tu_%03d" % index)
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--count", type=int, default=60)
    args = ap.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for i in range(args.count):
        p = out / ("tu_%03d.cpp" % i)
        wanted.add(p.name)
        text = make_tu(i)
        if not p.exists() or p.read_text() != text:
            p.write_text(text)
    for stale in out.glob("tu_*.cpp"):
        if stale.name not in wanted:
            stale.unlink()
    print(args.count)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
