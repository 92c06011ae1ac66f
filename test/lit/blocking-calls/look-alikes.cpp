// Names that are not the blocking API stay as they are: a user's own function called `read`,
// members called `send`/`recv`, functions in other namespaces, a variable called `sleep`.
// RUN: %check_balrog %s blocking-calls %t -- -- %balrog_std_flags

#include <sys/socket.h>
#include <unistd.h>

int read(const char* path);  // the user's own, not ::read(int, void*, size_t)

struct socket_like {
  int send(const char* s);
  int recv(char* s);
  static int poll();
};

namespace net {
ssize_t read(int fd, void* buf, size_t n);
void sleep(unsigned seconds);
}  // namespace net

namespace net {
// Unqualified, but name lookup finds net::read first: not the blocking ::read.
inline ssize_t read_here(int fd, void* buf) { return read(fd, buf, 1); }
}  // namespace net

namespace mine {
inline int connect() { return 0; }
int use() { return connect(); }
}  // namespace mine

int use(socket_like& sock, int fd, char* buf) {
  int total = read("config.txt");
  total += sock.send("x");
  total += sock.recv(buf);
  total += socket_like::poll();
  total += static_cast<int>(net::read(fd, buf, 1));
  net::sleep(1);
  int sleep = 3;
  total += sleep;
  using namespace net;
  net::sleep(2);
  return total;
}
