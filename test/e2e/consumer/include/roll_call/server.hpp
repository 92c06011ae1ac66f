// roll_call: a small blocking TCP server, written the plain synchronous way.
//
// A group of N clients checks in: each connects, sends "HELLO <id>\n" and waits. Once the whole
// group is present every client is answered "WELCOME <id> <id*id> <N>\n". Nothing in here knows
// about fibers: each connection is served by ordinary blocking code (recv, send, usleep,
// std::this_thread::sleep_for, a std::mutex). Built as it is, main() gives every connection a
// thread; built through balrog_wrap(), the same code runs one fiber per connection, all on one
// thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace roll_call {

class room;

// A listening TCP socket on 127.0.0.1:port (0: any free port); -1 on error (errno set).
int open_listener(std::uint16_t port, int backlog);
// The port a listener is bound to.
std::uint16_t local_port(int listener);
// Waits for the next connection; its fd, or -1 (errno set).
int accept_client(int listener);
// Serves one client to the end and closes `fd`. Returns true if it was answered.
bool serve_client(int fd, room& r, std::chrono::milliseconds patience);

// What the server saw, for the test to check.
struct room_stats {
  int checked_in = 0;               // clients that said HELLO
  int answered = 0;                 // clients answered WELCOME
  int most_present = 0;             // the most clients waiting in the room at one time
  std::size_t handler_threads = 0;  // distinct threads that ran serve_client
  int process_threads = 0;          // threads of the process when the group was complete
};

// Where the group gathers. Thread-safe (a std::mutex).
room* make_room(int group_size);
void destroy_room(room* r);
room_stats stats_of(room& r);

// The answer client `id` of a group of `group_size` gets.
inline std::string expected_reply(long id, int group_size) {
  return "WELCOME " + std::to_string(id) + " " + std::to_string(id * id) + " " +
         std::to_string(group_size) + "\n";
}

}  // namespace roll_call
