// Multiplexing of compat connections: virtual PGconn's over a few physical connections per
// conninfo and thread (docs/pg-compat.md, "Many sessions, few server connections").
//
// A virtual connection's handle is a real PGconn that never connected (libpq refused its
// conninfo without any I/O): libpq's own functions called on it directly fail at once as on a
// broken connection, and balrog::compat's recognize it through a registry. Its statements run
// on a physical connection of its group, one statement at a time per physical connection (a
// balrog::mutex, FIFO). After each result the transaction status, the COPY state, the
// ParameterStatus values and the statement's leading keywords decide whether the virtual
// connection stays pinned to that physical connection.
#include "compat/libpq_mux.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/pg/compat/libpq.hpp"
#include "balrog/sync/condition_variable.hpp"
#include "balrog/sync/mutex.hpp"
#include "compat/libpq_wait.hpp"
#include "connection/statement_text.hpp"

namespace balrog::compat::mux {

std::atomic<bool> ever_enabled{false};

namespace {

std::atomic<int> configured{-1};  // -1: not set by the program; read the environment

// The reported (GUC_REPORT) settings a session can change: a change pins for life.
constexpr std::array<const char*, 9> tracked = {"application_name",
                                                "client_encoding",
                                                "DateStyle",
                                                "default_transaction_read_only",
                                                "IntervalStyle",
                                                "is_superuser",
                                                "session_authorization",
                                                "standard_conforming_strings",
                                                "TimeZone"};

struct group;

struct physical {
  PGconn* conn = nullptr;
  balrog::mutex use;  // one statement at a time
  vconn* pinned_to = nullptr;
  bool broken = false;
  int waiting = 0;
  ~physical() {
    if (conn != nullptr) ::PQfinish(conn);
  }
};

}  // namespace
struct vconn;
namespace {

struct group {
  std::string conninfo;
  int size = 1;
  int connecting = 0;
  int users = 0;           // virtual connections
  std::string last_error;  // of the last physical connection that could not be opened
  std::vector<std::shared_ptr<physical>> live;
  balrog::mutex m;  // only for `freed`
  balrog::condition_variable freed;
  // Virtual connections finished on another thread, handed to the connecting thread, which
  // closes their pinned connection and counts them out at its next call (settle_orphans).
  std::mutex orphans_lock;
  std::vector<std::unique_ptr<vconn>> orphans;
  // Every waiter looks again (a physical connection opened, lost or closed).
  void notify() { freed.notify_all(); }
  // A physical connection came free: one waiter takes it, and passes the turn on when it
  // leaves it free in turn.
  void notify_free() { freed.notify_one(); }
  void drop(const std::shared_ptr<physical>& p) {
    live.erase(std::remove(live.begin(), live.end(), p), live.end());
    notify();
  }
};

}  // namespace

struct vconn {
  PGconn* handle = nullptr;  // the placeholder handed to the application
  std::shared_ptr<group> g;
  std::thread::id owner;
  std::shared_ptr<physical> pinned;
  bool for_life = false;
  bool lost = false;
  PGTransactionStatusType txs = PQTRANS_IDLE;
  std::string error;
};

namespace {

std::mutex registry_lock;
std::unordered_map<const PGconn*, std::unique_ptr<vconn>>& registry() {
  static auto* r = new std::unordered_map<const PGconn*, std::unique_ptr<vconn>>;
  return *r;
}

// Groups of this thread, by conninfo.
std::map<std::string, std::shared_ptr<group>>& groups() {
  thread_local std::map<std::string, std::shared_ptr<group>> g;
  return g;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool istarts(std::string_view a, std::string_view prefix) {
  return a.size() >= prefix.size() && iequals(a.substr(0, prefix.size()), prefix);
}

// Copies the tracked settings.
std::array<std::string, tracked.size()> settings(const PGconn* c) {
  std::array<std::string, tracked.size()> out;
  for (std::size_t i = 0; i < tracked.size(); ++i) {
    const char* v = ::PQparameterStatus(c, tracked[i]);
    out[i] = v != nullptr ? v : "";
  }
  return out;
}

// A new physical connection for `g` (the caller counted it in g->connecting).
std::shared_ptr<physical> open_physical(const std::shared_ptr<group>& g) {
  PGconn* c = connect_physical(g->conninfo.c_str());
  --g->connecting;
  if (c == nullptr || ::PQstatus(c) != CONNECTION_OK) {
    g->last_error = c != nullptr ? ::PQerrorMessage(c) : "out of memory\n";
    if (c != nullptr) ::PQfinish(c);
    g->notify();
    return nullptr;
  }
  auto p = std::make_shared<physical>();
  p->conn = c;
  g->live.push_back(p);
  g->notify();
  return p;
}

void set_error(vconn* v, const char* text) { v->error = text; }

void close_pinned(vconn* v);
void count_out(const std::shared_ptr<group>& g);

// On the connecting thread: what other threads finished is closed and counted out here.
void settle_orphans(const std::shared_ptr<group>& g) {
  std::vector<std::unique_ptr<vconn>> done;
  {
    std::lock_guard lock(g->orphans_lock);
    done.swap(g->orphans);
  }
  for (auto& v : done) {
    close_pinned(v.get());
    count_out(g);
  }
}

// Takes the physical connection for one statement of `v`, locked. nullptr with v->error set
// (or errno, when interrupted) on failure.
std::shared_ptr<physical> acquire(vconn* v) {
  const std::shared_ptr<group>& g = v->g;
  settle_orphans(g);
  bool open_failed = false;  // one attempt per call: then queue on the existing ones
  for (;;) {
    std::shared_ptr<physical> p = v->pinned;
    if (p == nullptr) {
      // The free physical connection with the fewest waiters; a new one while below the size
      // and every free one is busy.
      for (const auto& c : g->live) {
        if (c->broken || c->pinned_to != nullptr) continue;
        if (p == nullptr || c->waiting < p->waiting) p = c;
      }
      const bool busy = p == nullptr || p->waiting > 0;
      if (busy && !open_failed && static_cast<int>(g->live.size()) + g->connecting < g->size) {
        ++g->connecting;
        if (open_physical(g) == nullptr) {
          open_failed = true;
          if (g->live.empty() && g->connecting == 0) {
            // No server connection at all: the statement fails with libpq's reason.
            set_error(v, g->last_error.c_str());
            return nullptr;
          }
        }
        continue;
      }
      if (p == nullptr) {
        // Every physical connection is pinned (or being opened): wait for one to come free.
        try {
          std::unique_lock lock(g->m);
          g->freed.wait(lock);
        } catch (const balrog::timeout_error&) {
          g->notify_free();  // pass on a turn this waiter may have been given
          errno = ETIMEDOUT;
          return nullptr;
        } catch (...) {
          g->notify_free();
          errno = ECANCELED;
          return nullptr;
        }
        continue;
      }
    }
    ++p->waiting;
    try {
      p->use.lock();
    } catch (const balrog::timeout_error&) {
      --p->waiting;
      errno = ETIMEDOUT;
      return nullptr;
    } catch (...) {
      --p->waiting;
      errno = ECANCELED;
      return nullptr;
    }
    --p->waiting;
    if (v->pinned == p) {
      if (p->broken) {
        p->use.unlock();
        v->lost = true;
        v->pinned = nullptr;
        set_error(v, "server closed the connection unexpectedly\n");
        return nullptr;
      }
      return p;
    }
    if (!p->broken && p->pinned_to == nullptr) return p;
    p->use.unlock();  // pinned by another session or lost meanwhile: choose again
  }
}

void pin(vconn* v, const std::shared_ptr<physical>& p) {
  v->pinned = p;
  p->pinned_to = v;
}

void unpin(vconn* v) {
  if (v->pinned == nullptr) return;
  v->pinned->pinned_to = nullptr;
  v->pinned = nullptr;
  v->g->notify_free();
}

// A physical connection that broke: every session on it is lost.
void lose(vconn* v, const std::shared_ptr<physical>& p) {
  p->broken = true;
  v->lost = true;
  v->error = ::PQerrorMessage(p->conn);
  v->txs = PQTRANS_UNKNOWN;
  if (p->pinned_to == v) p->pinned_to = nullptr;
  v->pinned = nullptr;
  v->g->drop(p);
}

// Closes a physical connection that carries `v`'s session state (PQfinish and PQreset of a
// pinned session end its server session, as they do for a real connection).
void close_pinned(vconn* v) {
  std::shared_ptr<physical> p = v->pinned;
  if (p == nullptr) return;
  p->pinned_to = nullptr;
  v->pinned = nullptr;
  p->broken = true;
  v->g->drop(p);
  // Freed when the last holder (a fiber waiting for it) lets go.
}

}  // namespace

int physical_per_conninfo() noexcept {
  const int c = configured.load(std::memory_order_relaxed);
  if (c >= 0) return c;
  const char* env = std::getenv("BALROG_PG_MULTIPLEX");
  if (env == nullptr || *env == '\0') return 0;
  char* end = nullptr;
  const long n = std::strtol(env, &end, 10);
  if (*end != '\0' || n < 0 || n > 10000) return 0;
  if (n > 0) ever_enabled.store(true, std::memory_order_relaxed);
  return static_cast<int>(n);
}

vconn* lookup(const PGconn* conn) noexcept {
  std::lock_guard lock(registry_lock);
  auto it = registry().find(conn);
  if (it == registry().end()) return nullptr;
  return it->second.get();
}

PGconn* connect(const char* conninfo) {
  const int n = physical_per_conninfo();
  if (n <= 0 || conninfo == nullptr || pq::where() != pq::place::fiber) return nullptr;
  std::shared_ptr<group>& g = groups()[conninfo];
  if (g == nullptr) {
    g = std::make_shared<group>();
    g->conninfo = conninfo;
  }
  g->size = n;
  if (g->live.empty() && g->connecting == 0) {
    // The first physical connection, so that a bad conninfo fails with libpq's own result.
    ++g->connecting;
    PGconn* c = connect_physical(conninfo);
    --g->connecting;
    if (c == nullptr || ::PQstatus(c) != CONNECTION_OK) {
      g->notify();
      return c;
    }
    auto p = std::make_shared<physical>();
    p->conn = c;
    g->live.push_back(p);
    g->notify();
  }
  auto v = std::make_unique<vconn>();
  // libpq refuses the option before any I/O: a PGconn in CONNECTION_BAD.
  v->handle = ::PQconnectStart("balrog_virtual_connection=1");
  if (v->handle == nullptr) return nullptr;
  v->g = g;
  ++g->users;
  v->owner = std::this_thread::get_id();
  PGconn* h = v->handle;
  std::lock_guard lock(registry_lock);
  registry().emplace(h, std::move(v));
  return h;
}

bool pins_for_life(std::string_view sql) noexcept {
  bool pins = false;
  bool at_start = true;  // the next word begins a statement
  bool second = false;   // the next word is the statement's second
  std::string_view first;
  balrog::pg::detail::for_each_word(sql, [&](std::string_view w) {
    if (w == ";") {
      at_start = true;
      second = false;
      return true;
    }
    if (!balrog::pg::detail::is_word_char(w.front())) return true;  // other punctuation
    if (at_start) {
      first = w;
      at_start = false;
      second = true;
      // COPY needs no rule: the result status pins while it is in progress.
      pins = iequals(w, "listen") || iequals(w, "prepare") || iequals(w, "declare") ||
             iequals(w, "do") || iequals(w, "load") || iequals(w, "reset") || iequals(w, "discard");
      return !pins;
    }
    if (second) {
      second = false;
      if (iequals(first, "set") && !iequals(w, "local") && !iequals(w, "transaction") &&
          !iequals(w, "constraints")) {
        pins = true;
        return false;
      }
    }
    pins = iequals(w, "temp") || iequals(w, "temporary") || istarts(w, "pg_advisory_lock") ||
           istarts(w, "pg_try_advisory_lock") || iequals(w, "set_config") ||
           iequals(w, "dblink_connect");
    return !pins;
  });
  // A SET alone ("set" with nothing after it) is an error; nothing to pin.
  return pins;
}

namespace {

// False, with the error set, when `v` lost its server or is not on a fiber of its thread.
bool usable_here(vconn* v) {
  if (v->lost) {
    set_error(v, "no connection to the server\n");
    return false;
  }
  if (v->owner != std::this_thread::get_id() || pq::where() != pq::place::fiber) {
    set_error(v,
              "balrog: a multiplexed connection is used only on fibers of the thread that "
              "connected it\n");
    errno = EDEADLK;
    return false;
  }
  return true;
}

}  // namespace

PGresult* exec(vconn* v, std::string_view text, bool life,
               const std::function<PGresult*(PGconn*)>& run) {
  if (!usable_here(v)) return nullptr;
  errno = 0;
  std::shared_ptr<physical> p = acquire(v);
  if (p == nullptr) return nullptr;
  const bool was_pinned = v->pinned == p;
  life = life || pins_for_life(text);
  const auto before = settings(p->conn);
  PGresult* r = run(p->conn);
  if (::PQstatus(p->conn) == CONNECTION_BAD) {
    lose(v, p);
    p->use.unlock();
    return r;
  }
  const PGTransactionStatusType txs = ::PQtransactionStatus(p->conn);
  const ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  const bool copying = st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH;
  if (settings(p->conn) != before) life = true;
  if (life) v->for_life = true;
  if (v->for_life || txs != PQTRANS_IDLE || copying || r == nullptr) {
    // A NULL result (interrupted): results may still come; keep the session on it.
    if (!was_pinned) pin(v, p);
  } else {
    unpin(v);
  }
  v->txs = txs;
  v->error = ::PQerrorMessage(p->conn);
  p->use.unlock();
  if (!was_pinned && v->pinned == nullptr) v->g->notify_free();
  return r;
}

PGconn* pin_for_life(vconn* v) {
  if (!usable_here(v)) return nullptr;
  if (v->pinned == nullptr) {
    errno = 0;
    std::shared_ptr<physical> p = acquire(v);
    if (p == nullptr) return nullptr;
    pin(v, p);
    p->use.unlock();
  }
  v->for_life = true;
  return v->pinned->conn;
}

PGconn* target(vconn* v) noexcept { return v->pinned != nullptr ? v->pinned->conn : v->handle; }

void after_raw(vconn* v) noexcept {
  std::shared_ptr<physical> p = v->pinned;
  if (p == nullptr) return;
  if (::PQstatus(p->conn) == CONNECTION_BAD) {
    lose(v, p);
    return;
  }
  v->txs = ::PQtransactionStatus(p->conn);
  v->error = ::PQerrorMessage(p->conn);
  // A COPY or a transaction that ended on the asynchronous API: unpin when nothing is left.
  if (!v->for_life && v->txs == PQTRANS_IDLE) unpin(v);
}

namespace {

// One virtual connection fewer (connecting thread): the last one closes the physical ones.
void count_out(const std::shared_ptr<group>& g) {
  if (--g->users == 0 && g->connecting == 0) {
    auto& all = groups();
    auto it = all.find(g->conninfo);
    if (it != all.end() && it->second == g) all.erase(it);
    g->live.clear();
  }
}

}  // namespace

void finish(vconn* v) {
  std::unique_ptr<vconn> own;
  {
    std::lock_guard lock(registry_lock);
    auto it = registry().find(v->handle);
    if (it != registry().end()) {
      own = std::move(it->second);
      registry().erase(it);
    }
  }
  if (own == nullptr) return;
  ::PQfinish(own->handle);
  own->handle = nullptr;
  std::shared_ptr<group> g = own->g;
  if (own->owner != std::this_thread::get_id()) {
    // The group belongs to the connecting thread: hand the rest to it.
    std::lock_guard lock(g->orphans_lock);
    g->orphans.push_back(std::move(own));
    return;
  }
  // Session state on the physical connection ends with the session, as PQfinish ends a real
  // one: the physical connection is closed (a new one is opened when needed).
  close_pinned(own.get());
  settle_orphans(g);
  count_out(g);
}

void reset(vconn* v) {
  if (v->pinned != nullptr) close_pinned(v);
  v->lost = false;
  v->for_life = false;
  v->txs = PQTRANS_IDLE;
  v->error.clear();
}

ConnStatusType status(vconn* v) noexcept {
  if (v->lost) return CONNECTION_BAD;
  return v->pinned != nullptr ? ::PQstatus(v->pinned->conn) : CONNECTION_OK;
}

PGTransactionStatusType transaction_status(vconn* v) noexcept {
  if (v->lost) return PQTRANS_UNKNOWN;
  if (v->pinned != nullptr) return ::PQtransactionStatus(v->pinned->conn);
  return v->txs;
}

char* error_message(vconn* v) noexcept {
  if (v->pinned != nullptr) return ::PQerrorMessage(v->pinned->conn);
  return v->error.data();
}

int socket(vconn* v) noexcept {
  if (v->lost) return -1;
  if (v->pinned != nullptr) return ::PQsocket(v->pinned->conn);
  for (const auto& p : v->g->live) {
    if (!p->broken) return ::PQsocket(p->conn);
  }
  return -1;
}

int backend_pid(vconn* v) noexcept {
  if (v->lost) return 0;
  if (v->pinned != nullptr) return ::PQbackendPID(v->pinned->conn);
  return 0;
}

const char* parameter_status(vconn* v, const char* name) noexcept {
  if (v->pinned != nullptr) return ::PQparameterStatus(v->pinned->conn, name);
  for (const auto& p : v->g->live) {
    if (!p->broken) return ::PQparameterStatus(p->conn, name);
  }
  return nullptr;
}

}  // namespace balrog::compat::mux

namespace balrog::compat {

void set_multiplex(int physical_per_conninfo) noexcept {
  mux::configured.store(physical_per_conninfo < 0 ? -1 : physical_per_conninfo,
                        std::memory_order_relaxed);
  if (physical_per_conninfo > 0) mux::ever_enabled.store(true, std::memory_order_relaxed);
}

namespace {
mux::vconn* virtual_of(const PGconn* conn) noexcept {
  return mux::find(const_cast<PGconn*>(conn));  // NOLINT: only compared, never written
}
}  // namespace

void PQfinish(PGconn* conn) {
  if (mux::vconn* v = virtual_of(conn)) {
    mux::finish(v);
    return;
  }
  ::PQfinish(conn);
}

ConnStatusType PQstatus(const PGconn* conn) {
  mux::vconn* v = virtual_of(conn);
  return v != nullptr ? mux::status(v) : ::PQstatus(conn);
}

PGTransactionStatusType PQtransactionStatus(const PGconn* conn) {
  mux::vconn* v = virtual_of(conn);
  return v != nullptr ? mux::transaction_status(v) : ::PQtransactionStatus(conn);
}

char* PQerrorMessage(const PGconn* conn) {
  mux::vconn* v = virtual_of(conn);
  return v != nullptr ? mux::error_message(v) : ::PQerrorMessage(conn);
}

int PQsocket(const PGconn* conn) {
  mux::vconn* v = virtual_of(conn);
  return v != nullptr ? mux::socket(v) : ::PQsocket(conn);
}

int PQbackendPID(const PGconn* conn) {
  mux::vconn* v = virtual_of(conn);
  return v != nullptr ? mux::backend_pid(v) : ::PQbackendPID(conn);
}

const char* PQparameterStatus(const PGconn* conn, const char* paramName) {
  mux::vconn* v = virtual_of(conn);
  return v != nullptr ? mux::parameter_status(v, paramName) : ::PQparameterStatus(conn, paramName);
}

int PQconsumeInput(PGconn* conn) {
  mux::vconn* v = virtual_of(conn);
  if (v == nullptr) return ::PQconsumeInput(conn);
  return mux::status(v) == CONNECTION_OK ? ::PQconsumeInput(mux::current(conn)) : 0;
}

int PQisBusy(PGconn* conn) {
  mux::vconn* v = virtual_of(conn);
  if (v == nullptr) return ::PQisBusy(conn);
  return mux::status(v) == CONNECTION_OK ? ::PQisBusy(mux::current(conn)) : 0;
}

PGnotify* PQnotifies(PGconn* conn) { return ::PQnotifies(mux::current(conn)); }

}  // namespace balrog::compat
