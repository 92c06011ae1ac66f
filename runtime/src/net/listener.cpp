#include "balrog/net/listener.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "balrog/errors.hpp"
#include "net/drive.hpp"
#include "net/operations.hpp"

namespace balrog::net {

namespace {

void enable(int fd, int option, const std::string& where, const char* name) {
  const int value = 1;
  if (::setsockopt(fd, SOL_SOCKET, option, &value, sizeof value) != 0) {
    throw_errno(where + ": setsockopt(" + name + ")");
  }
}

// bind() found `path` taken. Removes it if it is a socket file nobody listens on: a connect to
// it is refused (the server that made it is gone). True if the caller should bind again.
bool remove_stale_socket(const std::string& path, const endpoint& at) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT;  // vanished meanwhile: retry
  if (!S_ISSOCK(st.st_mode)) return false;                      // never delete other files
  const detail::attempt<int> probe = detail::open_stream_socket(AF_UNIX);
  if (probe.state != detail::progress::done) return false;
  // A Unix connect never waits: it succeeds, or fails at once (EAGAIN: alive, backlog full).
  const bool refused = ::connect(probe.value, at.data(), at.size()) != 0 && errno == ECONNREFUSED;
  ::close(probe.value);
  if (!refused) return false;
  return ::unlink(path.c_str()) == 0 || errno == ENOENT;
}

}  // namespace

listener::listener(listener&& other) noexcept
    : socket_(std::move(other.socket_)),
      counts_queued_(other.counts_queued_),
      unlink_path_(std::exchange(other.unlink_path_, {})),
      unlink_device_(other.unlink_device_),
      unlink_inode_(other.unlink_inode_) {}

listener& listener::operator=(listener&& other) noexcept {
  if (this != &other) {
    close();
    socket_ = std::move(other.socket_);
    counts_queued_ = other.counts_queued_;
    unlink_path_ = std::exchange(other.unlink_path_, {});
    unlink_device_ = other.unlink_device_;
    unlink_inode_ = other.unlink_inode_;
  }
  return *this;
}

stream listener::accept(deadline until) {
  detail::accept_op op;
  const int fd = detail::drive_blocking(socket_, op, until);
  return stream(stream::adopt_t{}, fd, counts_queued_);
}

task<stream> listener::async_accept(deadline until) {
  const detail::accept_op op;
  const int fd = co_await detail::drive_async(socket_, op, until);
  co_return stream(stream::adopt_t{}, fd, counts_queued_);
}

endpoint listener::local_endpoint() const {
  constexpr const char* call = "balrog::net::listener::local_endpoint";
  const detail::owned_socket::use in_use(socket_);  // close() waits for the getsockname
  const int fd = in_use.fd();
  if (fd < 0) detail::throw_closed(call, "listener");
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    throw_errno(detail::describe_call(call, fd));
  }
  return endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
}

void listener::close() noexcept {
  if (!unlink_path_.empty()) {
    // Only our own file: another server may have replaced it since.
    struct stat st {};
    if (::lstat(unlink_path_.c_str(), &st) == 0 && st.st_dev == unlink_device_ &&
        st.st_ino == unlink_inode_) {
      ::unlink(unlink_path_.c_str());
    }
    unlink_path_.clear();
  }
  socket_.close();
}

listener listen(const endpoint& at, listen_options options) {
  if (at.empty()) throw usage_error("balrog::net::listen: empty endpoint");
  const std::string where = "balrog::net::listen(" + at.to_string() + ")";
  if (options.backlog < 0) {
    throw usage_error(where + ": negative backlog " + std::to_string(options.backlog));
  }
  const detail::attempt<int> opened = detail::open_stream_socket(at.family());
  if (opened.state != detail::progress::done) throw_errno(opened.error, where + ": socket");
  listener l;
  l.socket_ = detail::owned_socket(opened.value);
  const int fd = opened.value;
  if (at.is_ip()) {
    if (options.reuse_address) enable(fd, SO_REUSEADDR, where, "SO_REUSEADDR");
    if (options.reuse_port) enable(fd, SO_REUSEPORT, where, "SO_REUSEPORT");
    detail::count_queued_bytes(fd);  // accepted streams inherit TCP_INQ (read_exact uses it)
    l.counts_queued_ = true;
  }
  // A path, not an abstract name ("@...") or an unnamed socket.
  const std::string path = at.is_unix() ? at.address() : std::string();
  const bool on_disk = !path.empty() && path.front() != '@';
  if (::bind(fd, at.data(), at.size()) != 0) {
    int err = errno;
    if (err == EADDRINUSE && on_disk && remove_stale_socket(path, at)) {
      err = ::bind(fd, at.data(), at.size()) == 0 ? 0 : errno;
    }
    if (err != 0) throw_errno(err, where + ": bind");
  }
  // Recorded before listen(2) can fail, so that the destructor cleans up after a failure too.
  if (on_disk && options.unlink_on_close) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      l.unlink_path_ = path;
      l.unlink_device_ = st.st_dev;
      l.unlink_inode_ = st.st_ino;
    }
  }
  if (::listen(fd, options.backlog) != 0) throw_errno(where + ": listen");
  return l;
}

}  // namespace balrog::net
