// Connections, PQreset, PQping and PQcancel of balrog/pg/compat/libpq.hpp.
//
// On a fiber a connection is started on the offload pool (PQconnectStart* may resolve the
// first host's name and read ~/.pgpass or a service file) and driven by PQconnectPoll while
// the fiber waits for the socket, as libpq's connectDBComplete does with poll(2). When a
// connect_timeout is configured, libpq's blocking function runs on the offload pool instead:
// its per-host, per-address timeout (and its "timeout expired" message) cannot be reproduced
// through the public API.
#include <libpq-fe.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "balrog/pg/compat/libpq.hpp"
#include "compat/libpq_mux.hpp"
#include "compat/libpq_wait.hpp"
#include "protocol/connect_timeout.hpp"

namespace balrog::compat {

namespace {

using pg::detail::conninfo_sets_timeout;
using pg::detail::environment_sets_timeout;
using pg::detail::params_set_timeout;
using pq::place;

struct finisher {
  void operator()(PGconn* c) const noexcept { ::PQfinish(c); }
};
using owned_conn = std::unique_ptr<PGconn, finisher>;

// The connection's own connect_timeout (PQconninfo: after defaults, environment, service).
bool connection_sets_timeout(PGconn* conn) noexcept {
  PQconninfoOption* options = PQconninfo(conn);
  if (options == nullptr) return true;
  bool found = false;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::strcmp(o->keyword, "connect_timeout") == 0)
      found = pg::detail::timeout_in_force(o->val);
  }
  PQconninfoFree(options);
  return found;
}

// Keyword/value arrays copied for a job on the offload pool (which may outlive the call).
class params_copy {
 public:
  params_copy(const char* const* keywords, const char* const* values) {
    for (int i = 0; keywords != nullptr && keywords[i] != nullptr; ++i) {
      keys_.emplace_back(keywords[i]);
      values_.emplace_back(values != nullptr && values[i] != nullptr
                               ? std::optional<std::string>(values[i])
                               : std::nullopt);
    }
  }
  // Calls fn(keywords, values) with null-terminated arrays.
  template <class F>
  auto with_arrays(F fn) const {
    std::vector<const char*> k;
    std::vector<const char*> v;
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      k.push_back(keys_[i].c_str());
      v.push_back(values_[i] ? values_[i]->c_str() : nullptr);
    }
    k.push_back(nullptr);
    v.push_back(nullptr);
    return fn(k.data(), v.data());
  }

 private:
  std::vector<std::string> keys_;
  std::vector<std::optional<std::string>> values_;
};

// libpq's connectDBComplete without a timeout, waiting on the fiber: `poll` is PQconnectPoll
// or PQresetPoll. False when a wait failed (errno).
bool drive(PGconn* conn, PostgresPollingStatusType (*poll)(PGconn*)) noexcept {
  PostgresPollingStatusType flag = PGRES_POLLING_WRITING;  // libpq's documented start
  for (;;) {
    switch (flag) {
      case PGRES_POLLING_READING:
        if (!pq::wait_socket(::PQsocket(conn), true, false)) return false;
        break;
      case PGRES_POLLING_WRITING:
        if (!pq::wait_socket(::PQsocket(conn), false, true)) return false;
        break;
      case PGRES_POLLING_OK:
      case PGRES_POLLING_FAILED:  // CONNECTION_BAD; PQerrorMessage says why
      case PGRES_POLLING_ACTIVE:  // unused since PostgreSQL 7.4
        return true;
    }
    flag = poll(conn);
  }
}

// A connection on a fiber. `start` is the matching PQconnectStart* call and `blocking` libpq's
// blocking function, both self-contained (they may run on the offload pool after we gave up).
template <class Start, class Blocking>
PGconn* connect_on_fiber(Start start, Blocking blocking, bool timeout) {
  if (timeout) {
    auto done = pq::offload_call([blocking] { return owned_conn(blocking()); }, false);
    return done ? done->release() : nullptr;
  }
  auto started = pq::offload_call([start] { return owned_conn(start()); }, false);
  if (!started) return nullptr;
  owned_conn conn = std::move(*started);
  if (!conn || ::PQstatus(conn.get()) == CONNECTION_BAD) return conn.release();
  if (!drive(conn.get(), ::PQconnectPoll)) return nullptr;  // closed; errno says why
  return conn.release();
}

std::string or_empty(const char* s) { return s != nullptr ? std::string(s) : std::string(); }

}  // namespace

PGconn* PQconnectdb(const char* conninfo) {
  if (conninfo == nullptr || pq::where() == place::thread) return ::PQconnectdb(conninfo);
  if (mux::physical_per_conninfo() > 0 && pq::where() == place::fiber) {
    if (PGconn* v = mux::connect(conninfo)) return v;
  }
  return mux::connect_physical(conninfo);
}

PGconn* mux::connect_physical(const char* conninfo) {
  if (conninfo == nullptr || pq::where() == place::thread) return ::PQconnectdb(conninfo);
  std::string info(conninfo);
  const bool timeout = environment_sets_timeout() || conninfo_sets_timeout(conninfo);
  return connect_on_fiber([info] { return ::PQconnectStart(info.c_str()); },
                          [info] { return ::PQconnectdb(info.c_str()); }, timeout);
}

PGconn* PQconnectdbParams(const char* const* keywords, const char* const* values,
                          int expand_dbname) {
  if (pq::where() == place::thread) return ::PQconnectdbParams(keywords, values, expand_dbname);
  params_copy params(keywords, values);
  const bool timeout =
      environment_sets_timeout() || params_set_timeout(keywords, values, expand_dbname);
  return connect_on_fiber(
      [params, expand_dbname] {
        return params.with_arrays([&](const char* const* k, const char* const* v) {
          return ::PQconnectStartParams(k, v, expand_dbname);
        });
      },
      [params, expand_dbname] {
        return params.with_arrays([&](const char* const* k, const char* const* v) {
          return ::PQconnectdbParams(k, v, expand_dbname);
        });
      },
      timeout);
}

PGconn* PQsetdbLogin(const char* pghost, const char* pgport, const char* pgoptions,
                     const char* pgtty, const char* dbName, const char* login, const char* pwd) {
  if (pq::where() == place::thread) {
    return ::PQsetdbLogin(pghost, pgport, pgoptions, pgtty, dbName, login, pwd);
  }
  // libpq's PQsetdbLogin: dbName (a database name or a connection string) first, then each
  // non-empty argument overrides; pgtty is ignored. PQconnectStartParams with expand_dbname
  // and dbname first does the same.
  const char* keywords[] = {"dbname", "host", "port", "options", "user", "password", nullptr};
  const char* values[] = {dbName, pghost, pgport, pgoptions, login, pwd, nullptr};
  const bool timeout = environment_sets_timeout() || params_set_timeout(keywords, values, 1);
  params_copy params(keywords, values);
  const std::string host = or_empty(pghost), port = or_empty(pgport), opts = or_empty(pgoptions),
                    tty = or_empty(pgtty), db = or_empty(dbName), user = or_empty(login),
                    pass = or_empty(pwd);
  const unsigned given = (pghost != nullptr ? 1U : 0U) | (pgport != nullptr ? 2U : 0U) |
                         (pgoptions != nullptr ? 4U : 0U) | (pgtty != nullptr ? 8U : 0U) |
                         (dbName != nullptr ? 16U : 0U) | (login != nullptr ? 32U : 0U) |
                         (pwd != nullptr ? 64U : 0U);
  return connect_on_fiber(
      [params] {
        return params.with_arrays([](const char* const* k, const char* const* v) {
          return ::PQconnectStartParams(k, v, 1);
        });
      },
      [host, port, opts, tty, db, user, pass, given] {
        const auto arg = [given](const std::string& s, unsigned bit) {
          return (given & bit) != 0 ? s.c_str() : nullptr;
        };
        return ::PQsetdbLogin(arg(host, 1), arg(port, 2), arg(opts, 4), arg(tty, 8), arg(db, 16),
                              arg(user, 32), arg(pass, 64));
      },
      timeout);
}

void PQreset(PGconn* conn) {
  if (mux::vconn* v = mux::find(conn)) {
    mux::reset(v);
    return;
  }
  if (conn == nullptr || pq::where() == place::thread) {
    ::PQreset(conn);
    return;
  }
  // The connection is the caller's: the offloaded parts run to the end, whatever happens.
  if (connection_sets_timeout(conn)) {
    pq::offload_call(
        [conn] {
          ::PQreset(conn);
          return 0;
        },
        true);
    return;
  }
  const auto started = pq::offload_call([conn] { return ::PQresetStart(conn); }, true);
  if (!started || *started == 0) return;
  drive(conn, ::PQresetPoll);
}

PGPing PQping(const char* conninfo) {
  if (conninfo == nullptr || pq::where() == place::thread) return ::PQping(conninfo);
  std::string info(conninfo);
  return pq::offload_call([info] { return ::PQping(info.c_str()); }, false)
      .value_or(PQPING_NO_ATTEMPT);
}

PGPing PQpingParams(const char* const* keywords, const char* const* values, int expand_dbname) {
  if (pq::where() == place::thread) return ::PQpingParams(keywords, values, expand_dbname);
  params_copy params(keywords, values);
  return pq::offload_call(
             [params, expand_dbname] {
               return params.with_arrays([&](const char* const* k, const char* const* v) {
                 return ::PQpingParams(k, v, expand_dbname);
               });
             },
             false)
      .value_or(PQPING_NO_ATTEMPT);
}

int PQcancel(PGcancel* cancel, char* errbuf, int errbufsize) {
  if (cancel == nullptr || pq::where() == place::thread) {
    return ::PQcancel(cancel, errbuf, errbufsize);
  }
  // PQcancel opens a connection of its own and blocks: offloaded, run to the end (the cancel
  // object and the buffer are the caller's).
  const auto r = pq::offload_call(
      [cancel, errbuf, errbufsize] { return ::PQcancel(cancel, errbuf, errbufsize); }, true);
  if (r) return *r;
  const int err = errno;
  if (errbuf != nullptr && errbufsize > 0) {
    const char* why = err == EDEADLK ? "PQcancel cannot wait inside coroutine code\n"
                                     : "PQcancel could not be run on the offload pool\n";
    std::strncpy(errbuf, why, static_cast<std::size_t>(errbufsize) - 1);
    errbuf[errbufsize - 1] = '\0';
  }
  errno = err;
  return 0;
}

}  // namespace balrog::compat
