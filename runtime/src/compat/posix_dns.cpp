// The name lookups of balrog/compat/posix_dns.hpp: in sync mode libc's; on a fiber libc's on
// the offload pool, on copies of the arguments, so a lookup left running by a cancelled fiber
// never touches the fiber's memory.
#include "balrog/compat/posix_dns.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/offload.hpp"
#include "compat/wait_for_fd.hpp"

namespace balrog::compat {

namespace {

// Whether the call may wait on the pool; else errno is EDEADLK (coroutine code) and the caller
// fails. Sync mode is the caller's to check first.
bool may_wait() noexcept {
  if (detail::current_place() != detail::place::coroutine) return true;
  errno = EDEADLK;
  return false;
}

// Runs `job` on the offload pool. Empty, with errno ECANCELED or ETIMEDOUT, when the fiber was
// cancelled or its deadline_scope ended first.
template <class F>
auto offloaded(F job) -> std::optional<decltype(job())> {
  try {
    return balrog::offload(std::move(job));
  } catch (const cancelled&) {
    errno = ECANCELED;
  } catch (const timeout_error&) {
    errno = ETIMEDOUT;
  }
  return std::nullopt;
}

std::optional<std::string> copy(const char* s) {
  return s != nullptr ? std::optional<std::string>(s) : std::nullopt;
}
const char* c_str(const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; }

struct free_addrinfo {
  void operator()(addrinfo* a) const noexcept { ::freeaddrinfo(a); }
};

}  // namespace

int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                struct addrinfo** res) {
  if (detail::current_place() == detail::place::thread) {
    return ::getaddrinfo(node, service, hints, res);
  }
  if (!may_wait()) return EAI_SYSTEM;
  // POSIX: only these fields of hints are read; the others must be zero.
  std::optional<addrinfo> hint;
  if (hints != nullptr) {
    hint.emplace();
    std::memset(&*hint, 0, sizeof(addrinfo));
    hint->ai_flags = hints->ai_flags;
    hint->ai_family = hints->ai_family;
    hint->ai_socktype = hints->ai_socktype;
    hint->ai_protocol = hints->ai_protocol;
  }
  struct answer {
    int rc;
    int err;
    std::unique_ptr<addrinfo, free_addrinfo> list;
  };
  auto got = offloaded([n = copy(node), s = copy(service), hint]() {
    addrinfo* list = nullptr;
    const int rc = ::getaddrinfo(c_str(n), c_str(s), hint ? &*hint : nullptr, &list);
    return answer{rc, errno, std::unique_ptr<addrinfo, free_addrinfo>(list)};
  });
  if (!got) return EAI_SYSTEM;
  if (got->rc == EAI_SYSTEM) errno = got->err;
  if (got->rc == 0) *res = got->list.release();
  return got->rc;
}

int getnameinfo(const struct sockaddr* addr, socklen_t addrlen, char* host, socklen_t hostlen,
                char* serv, socklen_t servlen, int flags) {
  if (detail::current_place() == detail::place::thread) {
    return ::getnameinfo(addr, addrlen, host, hostlen, serv, servlen, flags);
  }
  if (!may_wait()) return EAI_SYSTEM;
  if (addr == nullptr || addrlen > sizeof(sockaddr_storage)) return EAI_FAMILY;
  sockaddr_storage where{};
  std::memcpy(&where, addr, addrlen);
  struct answer {
    int rc;
    int err;
    std::string host;
    std::string serv;
  };
  auto got = offloaded([where, addrlen, flags, host_size = host != nullptr ? hostlen : 0,
                        serv_size = serv != nullptr ? servlen : 0]() {
    answer a{0, 0, std::string(host_size, '\0'), std::string(serv_size, '\0')};
    a.rc = ::getnameinfo(reinterpret_cast<const sockaddr*>(&where), addrlen,
                         host_size != 0 ? a.host.data() : nullptr, host_size,
                         serv_size != 0 ? a.serv.data() : nullptr, serv_size, flags);
    a.err = errno;
    return a;
  });
  if (!got) return EAI_SYSTEM;
  if (got->rc == EAI_SYSTEM) errno = got->err;
  if (got->rc == 0) {
    if (!got->host.empty()) std::memcpy(host, got->host.data(), got->host.size());
    if (!got->serv.empty()) std::memcpy(serv, got->serv.data(), got->serv.size());
  }
  return got->rc;
}

int gethostbyname_r(const char* name, struct hostent* ret, char* buf, std::size_t buflen,
                    struct hostent** result, int* h_errnop) {
  if (detail::current_place() == detail::place::thread) {
    return ::gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
  }
  const auto fail = [&](int err) {
    *result = nullptr;
    *h_errnop = NETDB_INTERNAL;
    errno = err;
    return err;
  };
  if (!may_wait()) return fail(EDEADLK);
  struct answer {
    int rc;
    int herr;
    bool found;
    hostent entry;
    std::vector<char> data;  // what entry's pointers point into
  };
  auto got = offloaded([n = std::string(name != nullptr ? name : ""), buflen]() {
    answer a{0, 0, false, {}, std::vector<char>(buflen)};
    hostent* r = nullptr;
    a.rc = ::gethostbyname_r(n.c_str(), &a.entry, a.data.data(), buflen, &r, &a.herr);
    a.found = r != nullptr;
    return a;
  });
  if (!got) return fail(errno);
  *h_errnop = got->herr;
  if (!got->found) {
    *result = nullptr;
    return got->rc;
  }
  // Everything the entry points to is in the offload thread's buffer: copy the buffer, then
  // move each pointer (and those in the alias and address arrays) to the same offset in buf.
  std::memcpy(buf, got->data.data(), buflen);
  const char* from = got->data.data();
  const auto moved = [&](auto* p) -> decltype(p) {
    const char* c = reinterpret_cast<const char*>(p);
    if (c < from || c >= from + buflen) return p;
    return reinterpret_cast<decltype(p)>(buf + (c - from));
  };
  *ret = got->entry;
  ret->h_name = moved(ret->h_name);
  ret->h_aliases = moved(ret->h_aliases);
  ret->h_addr_list = moved(ret->h_addr_list);
  for (char** a = ret->h_aliases; a != nullptr && *a != nullptr; ++a) *a = moved(*a);
  for (char** a = ret->h_addr_list; a != nullptr && *a != nullptr; ++a) *a = moved(*a);
  *result = ret;
  return got->rc;
}

struct hostent* gethostbyname(const char* name) {
  if (detail::current_place() == detail::place::thread) return ::gethostbyname(name);
  // One answer per OS thread, as libc keeps one per process.
  thread_local hostent entry;
  thread_local std::vector<char> data(1024);
  for (;;) {
    hostent* result = nullptr;
    int herr = 0;
    const int rc = compat::gethostbyname_r(name, &entry, data.data(), data.size(), &result, &herr);
    if (rc == ERANGE && data.size() < (std::size_t{1} << 20)) {
      data.resize(data.size() * 2);
      continue;
    }
    if (result == nullptr) {
      h_errno = herr;
      if (rc != 0) errno = rc;
    }
    return result;
  }
}

}  // namespace balrog::compat
