// bench/gen input, "medium": a typical C++ service file on the standard library. A worker
// pool with std::mutex, std::condition_variable and std::thread, sleeps from
// std::this_thread, some containers, strings, <chrono> and <iostream>: what sync-types and
// the std-thread map rewrite.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace bench_gen {

class job_queue {
 public:
  void push(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
  }

  std::optional<std::function<void()>> pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [this] { return closed_ || !jobs_.empty(); });
    if (jobs_.empty()) return std::nullopt;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    return job;
  }

  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  bool closed_ = false;
};

class stats {
 public:
  void add(const std::string& key, double v) {
    std::unique_lock lock(mutex_);
    values_[key].push_back(v);
  }
  std::map<std::string, double> medians() const {
    std::shared_lock lock(mutex_);
    std::map<std::string, double> out;
    for (const auto& [k, v] : values_) {
      auto copy = v;
      std::sort(copy.begin(), copy.end());
      out[k] = copy.empty() ? 0.0 : copy[copy.size() / 2];
    }
    return out;
  }

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::vector<double>> values_;
};

int run_pool(int workers, int jobs) {
  job_queue q;
  stats s;
  std::vector<std::thread> pool;
  for (int i = 0; i < workers; ++i) {
    pool.emplace_back([&q] {
      while (auto job = q.pop()) (*job)();
    });
  }
  for (int i = 0; i < jobs; ++i) {
    q.push([&s, i] {
      const auto t0 = std::chrono::steady_clock::now();
      std::this_thread::sleep_for(std::chrono::milliseconds(i % 3));
      std::this_thread::yield();
      const std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;
      s.add("job-" + std::to_string(i % 4), d.count());
    });
  }
  q.close();
  for (auto& t : pool) t.join();
  for (const auto& [k, v] : s.medians()) std::cout << k << ' ' << v << '\n';
  return 0;
}

}  // namespace bench_gen
