// balrog::compat getaddrinfo / getnameinfo / gethostbyname / gethostbyname_r: on a fiber the
// lookup runs on the offload pool and answers as libc does; in sync mode it is libc's.
// Numeric hosts and "localhost" only: no network.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "balrog/compat/posix_dns.hpp"
#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "compat_test_support.hpp"

namespace compat = balrog::compat;

namespace {

// The addresses of a getaddrinfo list, as text, and frees it.
std::vector<std::string> addresses(addrinfo* list) {
  std::vector<std::string> out;
  for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* where =
        a->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr)
            : &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr;
    ::inet_ntop(a->ai_family, where, text, sizeof text);
    out.push_back(std::string(text) + "/" + std::to_string(a->ai_socktype));
  }
  ::freeaddrinfo(list);
  return out;
}

std::vector<std::string> lookup(decltype(&::getaddrinfo) fn, const char* host, const char* port,
                                int flags) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags;
  addrinfo* list = nullptr;
  const int rc = fn(host, port, &hints, &list);
  if (rc != 0) return {"error " + std::to_string(rc)};
  return addresses(list);
}

TEST(CompatDns, GetaddrinfoOnAFiberAnswersAsLibc) {
  const auto libc = lookup(::getaddrinfo, "127.0.0.1", "80", AI_NUMERICHOST);
  const auto libc_local = lookup(::getaddrinfo, "localhost", "80", 0);
  balrog::run([&] {
    EXPECT_EQ(lookup(compat::getaddrinfo, "127.0.0.1", "80", AI_NUMERICHOST), libc);
    EXPECT_EQ(lookup(compat::getaddrinfo, "localhost", "80", 0), libc_local);
    // libc's errors come back as they are.
    EXPECT_EQ(lookup(compat::getaddrinfo, "not an address", nullptr, AI_NUMERICHOST),
              lookup(::getaddrinfo, "not an address", nullptr, AI_NUMERICHOST));
  });
  EXPECT_EQ(libc, (std::vector<std::string>{"127.0.0.1/1"}));
  // Sync mode: libc's.
  EXPECT_EQ(lookup(compat::getaddrinfo, "127.0.0.1", "80", AI_NUMERICHOST), libc);
}

TEST(CompatDns, ConcurrentLookupsFromManyFibersEachGetTheirOwnAnswer) {
  balrog::run([] {
    std::vector<balrog::fiber<std::vector<std::string>>> fibers;
    for (int i = 0; i < 32; ++i) {
      fibers.push_back(balrog::spawn([i] {
        const std::string host = "127.0.0." + std::to_string(i + 1);
        return lookup(compat::getaddrinfo, host.c_str(), nullptr, AI_NUMERICHOST);
      }));
    }
    for (int i = 0; i < 32; ++i) {
      EXPECT_EQ(fibers[i].join(),
                (std::vector<std::string>{"127.0.0." + std::to_string(i + 1) + "/1"}));
    }
  });
}

TEST(CompatDns, CancelledFiberGetsEaiSystemEcanceled) {
  balrog::run([] {
    int rc = 0;
    int err = 0;
    addrinfo* list = nullptr;
    auto f = balrog::spawn([&] {
      rc = compat::getaddrinfo("127.0.0.1", nullptr, nullptr, &list);
      err = errno;
    });
    f.cancel();  // before it runs: the wait for the pool fails at once
    f.join();
    EXPECT_EQ(rc, EAI_SYSTEM);
    EXPECT_EQ(err, ECANCELED);
    EXPECT_EQ(list, nullptr);
  });
}

TEST(CompatDns, GetnameinfoNumeric) {
  const sockaddr_in addr = compat_test::loopback(8080);
  const auto run_it = [&] {
    char host[NI_MAXHOST] = "x";
    char serv[NI_MAXSERV] = "x";
    const int rc =
        compat::getnameinfo(compat_test::as_sockaddr(addr), sizeof addr, host, sizeof host, serv,
                            sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
    return std::to_string(rc) + " " + host + ":" + serv;
  };
  std::string on_fiber;
  balrog::run([&] { on_fiber = run_it(); });
  EXPECT_EQ(on_fiber, "0 127.0.0.1:8080");
  EXPECT_EQ(run_it(), on_fiber);
}

TEST(CompatDns, GethostbynameAndReentrantForm) {
  balrog::run([] {
    hostent* h = compat::gethostbyname("127.0.0.1");
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->h_addrtype, AF_INET);
    ASSERT_NE(h->h_addr_list[0], nullptr);
    in_addr a{};
    std::memcpy(&a, h->h_addr_list[0], sizeof a);
    EXPECT_EQ(a.s_addr, htonl(INADDR_LOOPBACK));

    hostent entry{};
    hostent* result = nullptr;
    int herr = 0;
    std::vector<char> buf(2048, '\x55');
    EXPECT_EQ(compat::gethostbyname_r("127.0.0.1", &entry, buf.data(), buf.size(), &result, &herr),
              0);
    ASSERT_EQ(result, &entry);
    // Every pointer of the entry points into the caller's buffer.
    const auto inside = [&](const void* p) {
      const char* c = static_cast<const char*>(p);
      return c >= buf.data() && c < buf.data() + buf.size();
    };
    EXPECT_TRUE(inside(entry.h_name));
    EXPECT_STREQ(entry.h_name, "127.0.0.1");
    EXPECT_TRUE(inside(entry.h_addr_list));
    ASSERT_TRUE(inside(entry.h_addr_list[0]));
    std::memcpy(&a, entry.h_addr_list[0], sizeof a);
    EXPECT_EQ(a.s_addr, htonl(INADDR_LOOPBACK));
    EXPECT_EQ(entry.h_addr_list[1], nullptr);

    // A buffer too small: ERANGE, as libc says.
    char tiny[4];
    EXPECT_EQ(compat::gethostbyname_r("127.0.0.1", &entry, tiny, sizeof tiny, &result, &herr),
              ERANGE);
    EXPECT_EQ(result, nullptr);
  });
}

}  // namespace
