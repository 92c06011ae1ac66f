#include "net/tls_bio.hpp"

#include <climits>
#include <cstddef>
#include <new>
#include <span>

#include "net/socket_ops.hpp"

namespace balrog::net::detail {

namespace {

struct bio_state {
  int fd = -1;
  int last_error = 0;
  bool eof = false;  // the last read found the end of the stream (BIO_eof)
};

bio_state* state_of(const BIO* bio) noexcept {
  return static_cast<bio_state*>(BIO_get_data(const_cast<BIO*>(bio)));
}

int bio_create(BIO* bio) {
  auto* s = new (std::nothrow) bio_state;
  if (s == nullptr) return 0;
  BIO_set_data(bio, s);
  BIO_set_init(bio, 1);
  return 1;
}

int bio_destroy(BIO* bio) {
  delete state_of(bio);
  BIO_set_data(bio, nullptr);
  BIO_set_init(bio, 0);
  return 1;
}

// OpenSSL asks for at most INT_MAX bytes through the *_ex callbacks' size_t.
int bio_read(BIO* bio, char* out, size_t size, size_t* read) {
  bio_state* s = state_of(bio);
  BIO_clear_retry_flags(bio);
  const attempt<std::size_t> r =
      receive_once(s->fd, std::as_writable_bytes(std::span<char>(out, size)));
  switch (r.state) {
    case progress::done:
      *read = r.value;
      s->last_error = 0;
      s->eof = r.value == 0;
      return r.value > 0 ? 1 : 0;  // 0: end of stream
    case progress::want_read:
    case progress::want_write:
      BIO_set_retry_read(bio);
      return 0;
    case progress::failed:
      s->last_error = r.error;
      return 0;
  }
  return 0;
}

int bio_write(BIO* bio, const char* in, size_t size, size_t* written) {
  bio_state* s = state_of(bio);
  BIO_clear_retry_flags(bio);
  const attempt<std::size_t> r = send_once(s->fd, std::as_bytes(std::span<const char>(in, size)));
  switch (r.state) {
    case progress::done:
      *written = r.value;
      s->last_error = 0;
      return 1;
    case progress::want_read:
    case progress::want_write:
      BIO_set_retry_write(bio);
      return 0;
    case progress::failed:
      s->last_error = r.error;
      return 0;
  }
  return 0;
}

long bio_ctrl(BIO* bio, int cmd, long /*num*/, void* /*ptr*/) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:  // the record layer flushes after each write: nothing is buffered here
      return 1;
    case BIO_CTRL_EOF:  // tells OpenSSL a failed read was the end of the stream
      return state_of(bio)->eof ? 1 : 0;
    default:  // pending counts, kTLS queries, datagram controls: "not supported"
      return 0;
  }
}

struct bio_method {
  int type = 0;
  BIO_METHOD* method = nullptr;
};

bio_method make_method() noexcept {
  bio_method made;
  made.type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK;
  made.method = BIO_meth_new(made.type, "balrog socket");
  if (made.method == nullptr) return made;
  BIO_meth_set_create(made.method, bio_create);
  BIO_meth_set_destroy(made.method, bio_destroy);
  BIO_meth_set_read_ex(made.method, bio_read);
  BIO_meth_set_write_ex(made.method, bio_write);
  BIO_meth_set_ctrl(made.method, bio_ctrl);
  return made;
}

// Made once, kept for the process (OpenSSL's own methods are static too).
const bio_method& method() noexcept {
  static const bio_method m = make_method();
  return m;
}

}  // namespace

BIO* new_socket_bio() noexcept {
  const bio_method& m = method();
  return m.method == nullptr ? nullptr : BIO_new(m.method);
}

bool is_socket_bio(const BIO* bio) noexcept {
  const bio_method& m = method();
  return bio != nullptr && m.method != nullptr && BIO_method_type(bio) == m.type &&
         state_of(bio) != nullptr;
}

void set_bio_fd(BIO* bio, int fd) noexcept {
  if (is_socket_bio(bio)) state_of(bio)->fd = fd;
}

int bio_last_error(const BIO* bio) noexcept {
  return is_socket_bio(bio) ? state_of(bio)->last_error : 0;
}

}  // namespace balrog::net::detail
