// balrog's twin of OpenSSL's socket BIO (crypto/bio/bss_sock.c in OpenSSL 3), whose I/O goes
// through balrog::compat::read / write, and the calls that install it (balrog/compat/openssl.hpp).
// Each callback below mirrors its OpenSSL counterpart line for line, so that everything but the
// waiting (flags, EOF, errno, closing) is what OpenSSL's socket BIO does.
#include "balrog/compat/openssl.hpp"

#include <openssl/err.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "balrog/compat/posix_fd.hpp"
#include "balrog/compat/posix_net.hpp"
#include "compat/wait_for_fd.hpp"

namespace balrog::compat {

namespace {

// A control command OpenSSL does not use: balrog's BIO answers it with `probe_answer`, every
// other BIO (OpenSSL's socket BIO included) with 0. How SSL_set_rfd / SSL_set_wfd recognise a
// BIO of ours, since the method type is OpenSSL's BIO_TYPE_SOCKET.
constexpr int probe_command = 0x62616c72;  // "balr"
constexpr long probe_answer = 0x67;

// The fd lives in the BIO's data pointer (OpenSSL keeps it in the BIO's `num`, which a custom
// method cannot reach).
int fd_of(BIO* bio) noexcept {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

void set_fd_of(BIO* bio, int fd) noexcept {
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
}

// OpenSSL's error queue belongs to the OS thread, and the fibers of a thread share it. While
// this fiber waits inside SSL_read (in the BIO), other fibers run OpenSSL too: one that leaves
// errors behind could make this fiber's SSL_get_error() answer SSL_ERROR_SSL, and one that
// clears the queue (as OpenSSL asks before every I/O call) would take this fiber's errors.
// With threads neither happens; so around a read or write on a fiber, the queue is made this
// fiber's own again: its errors are taken off before the call and put back after it, and
// whatever other fibers left on the queue meanwhile is dropped (those fibers went on, or are
// waiting in a BIO of ours and kept theirs aside). Off a fiber nobody else runs: nothing to do.
// (Error marks, ERR_set_mark, are not kept on the errors taken aside.)
class error_queue_scope {
 public:
  error_queue_scope() noexcept : on_fiber_(detail::current_place() == detail::place::fiber) {
    if (!on_fiber_ || ERR_peek_error() == 0) return;
    const int saved_errno = errno;
    try {
      for (;;) {
        entry e;
        const char* file = nullptr;
        const char* func = nullptr;
        const char* data = nullptr;
        int flags = 0;
        e.code = ERR_get_error_all(&file, &e.line, &func, &data, &flags);
        if (e.code == 0) break;
        // The strings live in the queue's slot (OpenSSL copies even the file and function
        // names), which the next error or ERR_clear_error frees: copy them.
        if (file != nullptr) e.file = file;
        if (func != nullptr) e.func = func;
        if (data != nullptr && (flags & ERR_TXT_STRING) != 0) e.data = data;
        own_.push_back(std::move(e));
      }
    } catch (const std::bad_alloc&) {  // keep what was taken; the rest is lost as in OOM
    }
    errno = saved_errno;
  }
  error_queue_scope(const error_queue_scope&) = delete;
  error_queue_scope& operator=(const error_queue_scope&) = delete;
  ~error_queue_scope() {
    if (!on_fiber_) return;
    const int saved_errno = errno;
    if (ERR_peek_error() != 0) ERR_clear_error();  // other fibers' leftovers
    for (const entry& e : own_) {
      ERR_new();
      ERR_set_debug(e.file.empty() ? nullptr : e.file.c_str(), e.line,
                    e.func.empty() ? nullptr : e.func.c_str());
      if (e.data.empty()) {
        ERR_set_error(ERR_GET_LIB(e.code), ERR_GET_REASON(e.code), nullptr);
      } else {
        ERR_set_error(ERR_GET_LIB(e.code), ERR_GET_REASON(e.code), "%s", e.data.c_str());
      }
    }
    errno = saved_errno;
  }

 private:
  struct entry {
    unsigned long code = 0;
    std::string file;
    int line = 0;
    std::string func;
    std::string data;
  };
  bool on_fiber_;
  std::vector<entry> own_;
};

// sock_new: not initialised until an fd is set.
int socket_create(BIO* bio) {
  BIO_set_init(bio, 0);
  set_fd_of(bio, 0);
  return 1;
}

// sock_free: a BIO that owns its fd (BIO_CLOSE) closes it.
int socket_destroy(BIO* bio) {
  if (bio == nullptr) return 0;
  if (BIO_get_shutdown(bio) != 0) {
    if (BIO_get_init(bio) != 0) balrog::compat::close(fd_of(bio));
    BIO_set_init(bio, 0);
    BIO_clear_flags(bio, ~0);
  }
  return 1;
}

// OpenSSL's socket BIO (bss_sock.c) and fd BIO (bss_fd.c) read and write alike and differ
// in the test that decides the retry flags: BIO_sock_should_retry (EAGAIN, EINTR, ENOTCONN,
// EINPROGRESS...) or BIO_fd_should_retry. balrog's twins share one set of I/O callbacks,
// parameterized by that test, and one method table (bio_kind below), filled per BIO kind.
using should_retry_fn = int (*)(int);

// sock_read / fd_read: errno cleared first, so a 0 (end of stream) reads as "no error" to the
// retry test; retry flags only for the errors OpenSSL's BIO retries, EOF on 0.
template <should_retry_fn ShouldRetry>
int bio_read(BIO* bio, char* out, int size) {
  int ret = 0;
  if (out != nullptr) {
    {
      const error_queue_scope own_errors;
      errno = 0;
      ret = static_cast<int>(balrog::compat::read(fd_of(bio), out, static_cast<size_t>(size)));
    }
    BIO_clear_retry_flags(bio);
    if (ret <= 0) {
      if (ShouldRetry(ret) != 0) {
        BIO_set_retry_read(bio);
      } else if (ret == 0) {
        BIO_set_flags(bio, BIO_FLAGS_IN_EOF);
      }
    }
  }
  return ret;
}

// sock_write / fd_write.
template <should_retry_fn ShouldRetry>
int bio_write(BIO* bio, const char* in, int size) {
  int ret = 0;
  {
    const error_queue_scope own_errors;
    errno = 0;
    ret = static_cast<int>(balrog::compat::write(fd_of(bio), in, static_cast<size_t>(size)));
  }
  BIO_clear_retry_flags(bio);
  if (ret <= 0 && ShouldRetry(ret) != 0) BIO_set_retry_write(bio);
  return ret;
}

// sock_puts / fd_puts.
template <should_retry_fn ShouldRetry>
int bio_puts(BIO* bio, const char* text) {
  return bio_write<ShouldRetry>(bio, text, static_cast<int>(std::strlen(text)));
}

// sock_ctrl, without the kTLS commands (answered 0: kTLS is off, see the header).
long socket_ctrl(BIO* bio, int cmd, long num, void* ptr) {
  switch (cmd) {
    case BIO_C_SET_FD:
      // A minimal destroy first: a BIO that owned its previous fd closes it.
      if (BIO_get_shutdown(bio) != 0) {
        if (BIO_get_init(bio) != 0) balrog::compat::close(fd_of(bio));
        BIO_clear_flags(bio, ~0);
      }
      set_fd_of(bio, *static_cast<int*>(ptr));
      BIO_set_shutdown(bio, static_cast<int>(num));
      BIO_set_init(bio, 1);
      return 1;
    case BIO_C_GET_FD:
      if (BIO_get_init(bio) == 0) return -1;
      if (ptr != nullptr) *static_cast<int*>(ptr) = fd_of(bio);
      return fd_of(bio);
    case BIO_CTRL_GET_CLOSE:
      return BIO_get_shutdown(bio);
    case BIO_CTRL_SET_CLOSE:
      BIO_set_shutdown(bio, static_cast<int>(num));
      return 1;
    case BIO_CTRL_DUP:
      // BIO_dup_chain copies init, the close flag and OpenSSL's `num` (the fd) to the new BIO,
      // then asks the method to copy the rest: here the fd, which lives in the data pointer.
      if (ptr != nullptr) set_fd_of(static_cast<BIO*>(ptr), fd_of(bio));
      return 1;
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    case probe_command:
      return probe_answer;
    default:
      return 0;
  }
}

// fd_gets: one byte at a time up to a newline, as OpenSSL's (a BIO_gets on an fd BIO; the
// socket BIO has none).
int fd_gets(BIO* bio, char* buf, int size) {
  if (size <= 0) return 0;
  char* ptr = buf;
  char* const end = buf + size - 1;
  while (ptr < end && bio_read<BIO_fd_should_retry>(bio, ptr, 1) > 0) {
    if (*ptr++ == '\n') break;
  }
  *ptr = '\0';
  return buf[0] != '\0' ? static_cast<int>(std::strlen(buf)) : 0;
}

// fd_ctrl: the socket BIO's commands plus seeking (lseek does not wait).
long fd_ctrl(BIO* bio, int cmd, long num, void* ptr) {
  switch (cmd) {
    case BIO_CTRL_RESET:
      num = 0;
      [[fallthrough]];
    case BIO_C_FILE_SEEK:
      return static_cast<long>(::lseek(fd_of(bio), num, SEEK_SET));
    case BIO_C_FILE_TELL:
    case BIO_CTRL_INFO:
      return static_cast<long>(::lseek(fd_of(bio), 0, SEEK_CUR));
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING:
      return 0;
    default:
      return socket_ctrl(bio, cmd, num, ptr);
  }
}

// One method table per BIO kind: OpenSSL's own type and name, so code that checks
// BIO_method_type(bio) == BIO_TYPE_SOCKET (and BIO_find_type(bio, BIO_TYPE_DESCRIPTOR), which
// SSL_get_fd uses) sees a socket BIO, and an fd BIO is a "file descriptor" one.
struct bio_kind {
  int type;
  const char* name;
  int (*read)(BIO*, char*, int);
  int (*write)(BIO*, const char*, int);
  int (*puts)(BIO*, const char*);
  int (*gets)(BIO*, char*, int);  // nullptr: none (the socket BIO)
  long (*ctrl)(BIO*, int, long, void*);
};

constexpr bio_kind socket_bio{BIO_TYPE_SOCKET,
                              "socket",
                              bio_read<BIO_sock_should_retry>,
                              bio_write<BIO_sock_should_retry>,
                              bio_puts<BIO_sock_should_retry>,
                              nullptr,
                              socket_ctrl};

constexpr bio_kind fd_bio{BIO_TYPE_FD,
                          "file descriptor",
                          bio_read<BIO_fd_should_retry>,
                          bio_write<BIO_fd_should_retry>,
                          bio_puts<BIO_fd_should_retry>,
                          fd_gets,
                          fd_ctrl};

BIO_METHOD* make_method(const bio_kind& kind) noexcept {
  BIO_METHOD* method = BIO_meth_new(kind.type, kind.name);
  if (method == nullptr) return nullptr;
  if (BIO_meth_set_write(method, kind.write) != 1 || BIO_meth_set_read(method, kind.read) != 1 ||
      BIO_meth_set_puts(method, kind.puts) != 1 ||
      (kind.gets != nullptr && BIO_meth_set_gets(method, kind.gets) != 1) ||
      BIO_meth_set_ctrl(method, kind.ctrl) != 1 ||
      BIO_meth_set_create(method, socket_create) != 1 ||
      BIO_meth_set_destroy(method, socket_destroy) != 1) {
    BIO_meth_free(method);
    return nullptr;
  }
  return method;
}

bool is_balrog_socket_bio(BIO* bio) noexcept {
  return bio != nullptr && BIO_method_type(bio) == BIO_TYPE_SOCKET &&
         BIO_ctrl(bio, probe_command, 0, nullptr) == probe_answer;
}

// A new socket BIO on `fd` that does not own it, or nullptr with SSL's error queued (as
// SSL_set_fd queues it).
BIO* new_noclose_bio(int fd) {
  BIO* bio = BIO_new(balrog::compat::BIO_s_socket());
  if (bio == nullptr) {
    ERR_raise(ERR_LIB_SSL, ERR_R_BUF_LIB);
    return nullptr;
  }
  BIO_set_fd(bio, fd, BIO_NOCLOSE);
  return bio;
}

}  // namespace

const BIO_METHOD* BIO_s_socket() {
  // Made once, kept for the process, as OpenSSL's static methods are.
  static BIO_METHOD* const method = make_method(socket_bio);
  return method;
}

BIO* BIO_new_socket(int sock, int close_flag) {
  BIO* bio = BIO_new(balrog::compat::BIO_s_socket());
  if (bio == nullptr) return nullptr;
  BIO_set_fd(bio, sock, close_flag);
  return bio;
}

const BIO_METHOD* BIO_s_fd() {
  static BIO_METHOD* const method = make_method(fd_bio);
  return method;
}

BIO* BIO_new_fd(int fd, int close_flag) {
  BIO* bio = BIO_new(balrog::compat::BIO_s_fd());
  if (bio == nullptr) return nullptr;
  BIO_set_fd(bio, fd, close_flag);
  return bio;
}

int SSL_set_fd(SSL* ssl, int fd) {
  BIO* bio = new_noclose_bio(fd);
  if (bio == nullptr) return 0;
  SSL_set_bio(ssl, bio, bio);
  return 1;
}

// As OpenSSL's: share the other direction's BIO when it is a socket BIO (ours) on this fd.
int SSL_set_rfd(SSL* ssl, int fd) {
  BIO* wbio = SSL_get_wbio(ssl);
  if (!is_balrog_socket_bio(wbio) || static_cast<int>(BIO_get_fd(wbio, nullptr)) != fd) {
    BIO* bio = new_noclose_bio(fd);
    if (bio == nullptr) return 0;
    SSL_set0_rbio(ssl, bio);
  } else {
    BIO_up_ref(wbio);
    SSL_set0_rbio(ssl, wbio);
  }
  return 1;
}

int SSL_set_wfd(SSL* ssl, int fd) {
  BIO* rbio = SSL_get_rbio(ssl);
  if (!is_balrog_socket_bio(rbio) || static_cast<int>(BIO_get_fd(rbio, nullptr)) != fd) {
    BIO* bio = new_noclose_bio(fd);
    if (bio == nullptr) return 0;
    SSL_set0_wbio(ssl, bio);
  } else {
    BIO_up_ref(rbio);
    SSL_set0_wbio(ssl, rbio);
  }
  return 1;
}

}  // namespace balrog::compat
