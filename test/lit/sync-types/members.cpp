// Data members, static members and their out-of-class definitions, members initialized in
// constructors, and the member functions that lock them.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <condition_variable>
#include <mutex>
#include <queue>
#include <shared_mutex>
// CHECK-FIXES: #include <balrog/sync/condition_variable.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/mutex.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/shared_mutex.hpp>
// CHECK-FIXES-NEXT: #include <condition_variable>

class queue {
 public:
  void push(int v) {
    {
      std::lock_guard<std::mutex> lk(mutex_);
      // CHECK-FIXES: std::lock_guard<balrog::mutex> lk(mutex_);
      items_.push(v);
    }
    ready_.notify_one();
  }
  int pop() {
    std::unique_lock<std::mutex> lk(mutex_);
    // CHECK-FIXES: std::unique_lock<balrog::mutex> lk(mutex_);
    ready_.wait(lk, [&] { return !items_.empty(); });
    const int v = items_.front();
    items_.pop();
    return v;
  }
  std::mutex& mutex() { return mutex_; }
  // CHECK-FIXES: balrog::mutex& mutex() { return mutex_; }

 private:
  mutable std::mutex mutex_;
  // CHECK-FIXES: mutable balrog::mutex mutex_;
  std::condition_variable ready_;
  // CHECK-FIXES: balrog::condition_variable ready_;
  std::queue<int> items_;
};

struct registry {
  static std::shared_mutex lock;
  // CHECK-FIXES: static balrog::shared_mutex lock;
  static inline std::timed_mutex inline_lock;
  // CHECK-FIXES: static inline balrog::timed_mutex inline_lock;
  std::condition_variable_any changed{};
  // CHECK-FIXES: balrog::condition_variable_any changed{};
  std::mutex pair[2];
  // CHECK-FIXES: balrog::mutex pair[2];
};
std::shared_mutex registry::lock;
// CHECK-FIXES: balrog::shared_mutex registry::lock;

class holder {
 public:
  explicit holder(std::mutex& m) : lk_(m), m_(&m) {}
  // CHECK-FIXES: explicit holder(balrog::mutex& m) : lk_(m), m_(&m) {}

 private:
  std::unique_lock<std::mutex> lk_;
  // CHECK-FIXES: std::unique_lock<balrog::mutex> lk_;
  std::mutex* m_;
  // CHECK-FIXES: balrog::mutex* m_;
};

struct lockable_base : std::mutex {};
// CHECK-FIXES: struct lockable_base : balrog::mutex {};

int use(queue& q, registry& r) {
  std::shared_lock reader(registry::lock);
  std::unique_lock writer(r.pair[0]);
  holder h(q.mutex());
  return q.pop();
}
