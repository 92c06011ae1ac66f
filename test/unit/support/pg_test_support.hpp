// Small helpers shared by the pg driver's tests (header-only): connecting to the throwaway
// cluster (directly, over TCP, or through a fault proxy), one-line queries, a second
// connection's view of the server, and a SIGKILL of a backend that waits for the cluster to
// come back.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/pg/connection.hpp"
#include "balrog/pg/error.hpp"
#include "support/pg_cluster.hpp"
#include "support/tcp_fault_proxy.hpp"

namespace balrog::test::pg_support {

namespace pg = balrog::pg;

inline pg::connection connect(pg::connect_options o = {}) {
  return balrog::await(pg::connection::connect(pg_cluster::conninfo(), o));
}

// The cluster's TCP port, for a tcp_fault_proxy in front of it.
inline std::uint16_t server_port() {
  return static_cast<std::uint16_t>(std::stoi(pg_cluster::port()));
}

// Plain text (sslmode=disable): the proxy's cut_after_client_sends looks into the stream.
inline std::string through(const tcp_fault_proxy& proxy) {
  return "host=127.0.0.1 port=" + std::to_string(proxy.port()) +
         " user=postgres dbname=postgres sslmode=disable";
}

inline pg::connection connect_through(const tcp_fault_proxy& proxy, pg::connect_options o = {}) {
  return balrog::await(pg::connection::connect(through(proxy), o));
}

inline pg::result q(pg::connection& c, std::string sql, std::vector<pg::param> params = {}) {
  return balrog::await(c.query(std::move(sql), std::move(params)));
}

inline std::string text(const pg::result& r, std::size_t row = 0, std::size_t col = 0) {
  return std::string(r[row][col].raw());
}

// What a fresh connection sees: the truth on the server, whatever the connection under test
// believes.
inline std::string outside(const std::string& sql) {
  auto c = connect();
  return text(q(c, sql));
}

inline void fresh_table(pg::connection& c, const std::string& name) {
  balrog::await(
      c.execute_script("drop table if exists " + name + "; create table " + name + "(v int)"));
}

// The connection is back to a plain idle session: no transaction block is open on the server
// (after a statement, libpq's transaction status is what the server's ReadyForQuery said).
inline void expect_idle(pg::connection& c) {
  EXPECT_EQ(text(q(c, "select coalesce(txid_current_if_assigned()::text, 'none')")), "none");
  EXPECT_EQ(PQtransactionStatus(c.native_handle()), PQTRANS_IDLE)
      << "statements still run inside an older transaction block";
}

// SIGKILL of a backend: the postmaster then ends every backend and recovers. Waits (up to
// 60 s) until the cluster accepts connections again.
inline void kill_backend_hard(int pid) {
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  // Recovery starts once the postmaster notices the death; do not mistake the moments before
  // for a recovered cluster.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (;;) {
    try {
      auto c = connect();
      if (text(q(c, "select 1")) == "1") return;
    } catch (const pg::error&) {
    }
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the cluster did not recover";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace balrog::test::pg_support
