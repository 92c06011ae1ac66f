// A throwaway PostgreSQL cluster for a test binary (scripts/pg-cluster does the work).
//
//   balrog::test::pg_cluster::conninfo()  // "host=/tmp/... port=... user=postgres dbname=postgres"
//
// The first call starts a cluster in a fresh temporary directory; it is stopped and deleted
// when the test binary exits. If BALROG_TEST_PG_CONNINFO is set, that server is used instead
// and nothing is started (useful to run one test by hand against a server you already have).
// tcp_conninfo() is the same server over 127.0.0.1 (for TLS and pooler tests); ssl: the
// cluster is started with a self-signed certificate, so sslmode=require works.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>

#ifndef BALROG_SOURCE_DIR
#error "BALROG_SOURCE_DIR must name the repository (scripts/pg-cluster lives there)"
#endif

namespace balrog::test {

class pg_cluster {
 public:
  static const std::string& conninfo() { return instance().conninfo_; }
  static std::string tcp_conninfo() {
    const pg_cluster& c = instance();
    return "host=127.0.0.1 port=" + c.port_ + " user=postgres dbname=postgres";
  }
  static const std::string& port() { return instance().port_; }
  // PgBouncer ("session" or "transaction" pooling) in front of the cluster, started on first
  // use; empty when the cluster was given by BALROG_TEST_PG_CONNINFO (nothing to put it before).
  static std::string pgbouncer_conninfo(const std::string& mode) {
    pg_cluster& c = instance();
    std::lock_guard lock(c.mutex_);
    if (c.dir_.empty()) return "";
    std::string& info = mode == "session" ? c.session_bouncer_ : c.transaction_bouncer_;
    if (info.empty()) {
      info = run(std::string(BALROG_SOURCE_DIR) + "/scripts/pg-cluster pgbouncer " + c.dir_ +
                 " --mode " + mode);
      while (!info.empty() && info.back() == '\n') info.pop_back();
    }
    return info;
  }

 private:
  static pg_cluster& instance() {
    static pg_cluster c;
    // Registered after construction, so the cluster object outlives the handler (atexit runs
    // handlers and static destructors in reverse order of registration/construction).
    static const bool stop_at_exit = (std::atexit([] { instance().stop(); }), true);
    (void)stop_at_exit;
    return c;
  }

  pg_cluster() {
    if (const char* given = std::getenv("BALROG_TEST_PG_CONNINFO"); given != nullptr && *given) {
      conninfo_ = given;
      const auto at = conninfo_.find("port=");
      port_ = at == std::string::npos ? "5432"
                                      : conninfo_.substr(at + 5, conninfo_.find(' ', at) - at - 5);
      return;
    }
    char dir_template[] = "/tmp/balrog-pg-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) throw std::runtime_error("pg_cluster: mkdtemp failed");
    dir_ = dir_template;
    conninfo_ = run(std::string(BALROG_SOURCE_DIR) + "/scripts/pg-cluster start --ssl " + dir_);
    while (!conninfo_.empty() && conninfo_.back() == '\n') conninfo_.pop_back();
    const auto at = conninfo_.find("port=");
    port_ = conninfo_.substr(at + 5, conninfo_.find(' ', at) - at - 5);
  }

  void stop() {
    if (dir_.empty()) return;
    std::fflush(nullptr);
    run(std::string(BALROG_SOURCE_DIR) + "/scripts/pg-cluster stop " + dir_);
    dir_.clear();
  }

  static std::string run(const std::string& command) {
    std::FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) throw std::runtime_error("pg_cluster: cannot run " + command);
    std::string out;
    std::array<char, 256> buf{};
    while (std::fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
    if (::pclose(p) != 0) throw std::runtime_error("pg_cluster: '" + command + "' failed: " + out);
    return out;
  }

  std::string dir_;
  std::string conninfo_;
  std::string port_;
  std::mutex mutex_;
  std::string session_bouncer_;
  std::string transaction_bouncer_;
};

}  // namespace balrog::test
