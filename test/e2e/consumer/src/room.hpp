// The room where a group gathers: a counter and some statistics behind a std::mutex.
// (A local header, included as "room.hpp" by the sources next to it.)
#pragma once

#include <mutex>
#include <set>
#include <thread>

#include "roll_call/server.hpp"

namespace roll_call {

class room {
 public:
  explicit room(int group_size) : group_size_(group_size) {}

  int group_size() const { return group_size_; }
  // Records a client's arrival; true if it completed the group.
  bool check_in();
  // Whether the whole group is present (or has been: the first ones may already have left).
  bool complete();
  void answered();
  void check_out();
  room_stats stats();

 private:
  const int group_size_;
  std::mutex mutex_;
  int present_ = 0;
  int arrived_ = 0;
  room_stats stats_;
  std::set<std::thread::id> threads_;  // NOBALROG(sync-types): OS threads, not fibers
};

}  // namespace roll_call
