// roll_call_server: accepts --clients N connections and serves each one with the blocking code
// of roll_call_lib, then prints what the room saw and exits (0 if every client was answered).
//
// How connections are dispatched is the only thing that differs between the two builds:
//  - ROLL_CALL_FIBERS (roll_call_lib rewritten by balrog_wrap): balrog::run, one fiber each;
//  - otherwise: one std::thread each.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "roll_call/server.hpp"

#ifdef ROLL_CALL_FIBERS
#include <balrog/fiber.hpp>
#include <balrog/run.hpp>
#else
#include <thread>
#endif

namespace {

void raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int clients = 100;
  int port = 0;
  long patience_ms = 60000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--clients") {
      clients = std::atoi(argv[i + 1]);
    } else if (flag == "--port") {
      port = std::atoi(argv[i + 1]);
    } else if (flag == "--patience-ms") {
      patience_ms = std::atol(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: %s [--clients N] [--port P] [--patience-ms T]\n", argv[0]);
      return 2;
    }
  }
  raise_fd_limit();
  const int listener = roll_call::open_listener(static_cast<std::uint16_t>(port), 4096);
  if (listener < 0) {
    std::perror("roll_call_server: listen");
    return 2;
  }
  std::printf("listening on port %u\n", roll_call::local_port(listener));
  std::fflush(stdout);

  roll_call::room* room = roll_call::make_room(clients);
  const std::chrono::milliseconds patience(patience_ms);
  int accepted = 0;
#ifdef ROLL_CALL_FIBERS
  const char* mode = "fibers";
  balrog::run([&] {
    std::vector<balrog::fiber<bool>> connections;
    connections.reserve(static_cast<std::size_t>(clients));
    for (; accepted < clients; ++accepted) {
      const int fd = roll_call::accept_client(listener);
      if (fd < 0) {
        std::perror("roll_call_server: accept");
        break;
      }
      connections.push_back(balrog::spawn(
          [fd, room, patience] { return roll_call::serve_client(fd, *room, patience); },
          {.name = "client-" + std::to_string(fd)}));
    }
    for (auto& c : connections) c.join();
  });
#else
  const char* mode = "threads";
  std::vector<std::thread> connections;
  connections.reserve(static_cast<std::size_t>(clients));
  for (; accepted < clients; ++accepted) {
    const int fd = roll_call::accept_client(listener);
    if (fd < 0) {
      std::perror("roll_call_server: accept");
      break;
    }
    connections.emplace_back(
        [fd, room, patience] { roll_call::serve_client(fd, *room, patience); });
  }
  for (auto& c : connections) c.join();
#endif

  const roll_call::room_stats s = roll_call::stats_of(*room);
  std::printf(
      "server: mode=%s accepted=%d checked_in=%d answered=%d most_present=%d "
      "handler_threads=%zu process_threads=%d\n",
      mode, accepted, s.checked_in, s.answered, s.most_present, s.handler_threads,
      s.process_threads);
  std::fflush(stdout);
  roll_call::destroy_room(room);
  return s.answered == clients ? 0 : 1;
}
