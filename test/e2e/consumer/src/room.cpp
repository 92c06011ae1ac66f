#include "room.hpp"

#include <dirent.h>

namespace roll_call {

namespace {

int count_process_threads() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
  }
  return n;
}

}  // namespace

bool room::check_in() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++present_;
  ++arrived_;
  ++stats_.checked_in;
  if (present_ > stats_.most_present) stats_.most_present = present_;
  threads_.insert(std::this_thread::get_id());  // NOBALROG(sync-types): counts OS threads
  const bool last = arrived_ == group_size_;
  if (last) stats_.process_threads = count_process_threads();
  return last;
}

bool room::complete() {
  std::lock_guard<std::mutex> lock(mutex_);
  return arrived_ >= group_size_;
}

void room::answered() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.answered;
}

void room::check_out() {
  std::lock_guard<std::mutex> lock(mutex_);
  --present_;
}

room_stats room::stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  room_stats s = stats_;
  s.handler_threads = threads_.size();
  return s;
}

room* make_room(int group_size) { return new room(group_size); }
void destroy_room(room* r) { delete r; }
room_stats stats_of(room& r) { return r.stats(); }

}  // namespace roll_call
