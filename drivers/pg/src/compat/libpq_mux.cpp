// Multiplexing of compat connections: virtual PGconn's over a few physical connections per
// conninfo and thread (docs/pg-compat.md, "Many sessions, few server connections").
//
// A virtual connection's handle is a real PGconn that never connected (libpq refused its
// conninfo without any I/O): libpq's own functions called on it directly fail at once as on a
// broken connection, and balrog::compat's recognize it through a registry.
//
// A physical connection is the native driver's engine (pg::detail::connection_state) over a
// PGconn: its pipeline carries the statements of every shared virtual connection that chose it
// (each followed by its own Sync: an error fails only its statement), its queue keeps them in
// arrival order, and it hands each result to its caller and deals with callers that give up
// (see connection_state.hpp). A virtual connection that needs the server session to itself
// takes an exclusive section of that engine and uses the PGconn raw (out of pipeline mode,
// blocking mode, through the compat functions) until it is unpinned. After each result the
// transaction status, the COPY state, the ParameterStatus values and the statement's leading
// keywords decide whether it stays pinned.
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

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/pg/compat/libpq.hpp"
#include "balrog/sync/condition_variable.hpp"
#include "balrog/sync/mutex.hpp"
#include "compat/libpq_wait.hpp"
#include "connection/connection_state.hpp"
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

using settings_t = std::array<std::string, tracked.size()>;

// Copies the tracked settings.
settings_t settings(const PGconn* c) {
  settings_t out;
  for (std::size_t i = 0; i < tracked.size(); ++i) {
    const char* v = ::PQparameterStatus(c, tracked[i]);
    out[i] = v != nullptr ? v : "";
  }
  return out;
}

struct physical {
  std::shared_ptr<pg::detail::connection_state> state;
  PGconn* conn = nullptr;
  // The virtual connection that has it to itself, or is waiting for its pipeline to drain to
  // take it: shared statements no longer choose it.
  vconn* pinned_to = nullptr;
  bool broken = false;
  int outstanding = 0;  // shared statements queued or in flight on it
  // The tracked settings as the last statement that ended left them (shared with the engine's
  // on_answer hooks, which may run after this physical connection was let go).
  std::shared_ptr<settings_t> reported = std::make_shared<settings_t>();
  ~physical() {
    if (state != nullptr) state->close();  // frees the PGconn once nobody waits on it
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
  // A physical connection was unpinned: the first waiter takes it; if it only queues a shared
  // statement there, it passes the turn on to the next (choose), so that waiters queue in the
  // order they waited in, and a connection that a waiter pins wakes nobody else in vain.
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
  std::uint64_t section = 0;  // the engine's exclusive section while pinned
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

// The engine over a connected compat PGconn (blocking mode): non-blocking and in pipeline mode
// from now on, except while a pinned session uses it raw. No statement cache (a named
// statement would be session state of its own) and no statement_timeout statements (the
// pipeline carries exactly the application's statements).
std::shared_ptr<physical> adopt(const std::shared_ptr<group>& g, PGconn* c) {
  if (::PQsetnonblocking(c, 1) != 0) {
    g->last_error = ::PQerrorMessage(c);
    ::PQfinish(c);
    return nullptr;
  }
  pg::connect_options options;
  options.statement_cache = 0;
  options.deadline_statement_timeout = false;
  auto p = std::make_shared<physical>();
  try {
    p->state = std::make_shared<pg::detail::connection_state>(pg::detail::connection_ptr(c),
                                                              std::move(options));
  } catch (const std::exception& e) {
    g->last_error = e.what();
    return nullptr;
  }
  p->conn = c;
  *p->reported = settings(c);
  g->live.push_back(p);
  g->notify();
  return p;
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
  std::shared_ptr<physical> p = adopt(g, c);
  if (p == nullptr) g->notify();
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

void mark_broken(const std::shared_ptr<group>& g, const std::shared_ptr<physical>& p) {
  if (p->broken) return;
  p->broken = true;
  if (p->state != nullptr) p->state->close();
  g->drop(p);
}

// A physical connection for the next statement of `v`, which is not pinned: the unpinned one
// with the fewest shared statements queued or in flight; a new one while below the size and
// every unpinned one has statements. nullptr with v->error set (or errno, when interrupted) on
// failure.
std::shared_ptr<physical> choose(vconn* v, bool to_pin) {
  const std::shared_ptr<group>& g = v->g;
  settle_orphans(g);
  bool open_failed = false;  // one attempt per call: then queue on the existing ones
  bool woken = false;
  for (;;) {
    std::shared_ptr<physical> p;
    for (const auto& c : g->live) {
      if (c->broken || c->pinned_to != nullptr) continue;
      if (p == nullptr || c->outstanding < p->outstanding) p = c;
    }
    const bool busy = p == nullptr || p->outstanding > 0;
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
    if (p != nullptr) {
      if (woken && !to_pin) g->notify_free();  // the connection stays shared: pass the turn on
      return p;
    }
    // Every physical connection is pinned (or being opened): wait for one to come free.
    try {
      std::unique_lock lock(g->m);
      g->freed.wait(lock);
      woken = true;
    } catch (const balrog::timeout_error&) {
      g->notify_free();  // pass on a turn this waiter may have been given
      errno = ETIMEDOUT;
      return nullptr;
    } catch (...) {
      g->notify_free();
      errno = ECANCELED;
      return nullptr;
    }
  }
}

// Pins `v` to `p`: no shared statement chooses `p` from now on; the ones already queued on it
// are sent first (the exclusive section is granted in queue order) and their results read
// (enter_raw drains the pipeline); then `v` has the PGconn raw, in blocking mode. False when
// interrupted (errno) or when `p` broke meanwhile (v is not lost: nothing of it ran there).
bool pin(vconn* v, const std::shared_ptr<physical>& p) {
  p->pinned_to = v;
  v->pinned = p;
  auto undo = [&] {
    if (p->pinned_to == v) p->pinned_to = nullptr;
    v->pinned = nullptr;
    v->g->notify_free();
  };
  std::uint64_t token = 0;
  try {
    token = balrog::await(p->state->acquire_exclusive("PQexec"));
    balrog::await(p->state->enter_raw(token));
  } catch (const std::exception& e) {
    if (token != 0) p->state->release_exclusive(token);
    undo();
    if (dynamic_cast<const balrog::timeout_error*>(&e) != nullptr) {
      errno = ETIMEDOUT;
    } else if (dynamic_cast<const balrog::cancelled*>(&e) != nullptr) {
      errno = ECANCELED;
    } else {
      mark_broken(v->g, p);
    }
    return false;
  }
  if (::PQsetnonblocking(p->conn, 0) != 0) {
    p->state->leave_raw(token, true);
    undo();
    mark_broken(v->g, p);
    return false;
  }
  v->section = token;
  return true;
}

// Pins `v` to a physical connection of its own choice (retrying when the chosen one breaks).
std::shared_ptr<physical> pin_some(vconn* v) {
  for (;;) {
    std::shared_ptr<physical> p = choose(v, true);
    if (p == nullptr) return nullptr;
    if (pin(v, p)) return p;
    if (errno == ETIMEDOUT || errno == ECANCELED) return nullptr;
    errno = 0;  // that one broke: choose again
  }
}

// Gives the pinned physical connection back to the pipeline (the session left no state on it).
void unpin(vconn* v) {
  std::shared_ptr<physical> p = v->pinned;
  if (p == nullptr) return;
  v->pinned = nullptr;
  if (p->pinned_to == v) p->pinned_to = nullptr;
  const std::uint64_t token = v->section;
  v->section = 0;
  if (!p->broken) {
    *p->reported = settings(p->conn);
    if (::PQsetnonblocking(p->conn, 1) != 0) {
      mark_broken(v->g, p);
    } else {
      p->state->leave_raw(token, true);
      if (!p->state->open()) mark_broken(v->g, p);
    }
  }
  v->g->notify_free();
}

// A physical connection that broke under `v`'s statement: `v` is lost.
void lose(vconn* v, const std::shared_ptr<physical>& p, std::string why) {
  v->lost = true;
  v->error = std::move(why);
  v->txs = PQTRANS_UNKNOWN;
  if (p->pinned_to == v) p->pinned_to = nullptr;
  v->pinned = nullptr;
  v->section = 0;
  mark_broken(v->g, p);
}

// Closes a physical connection that carries `v`'s session state (PQfinish and PQreset of a
// pinned session end its server session, as they do for a real connection).
void close_pinned(vconn* v) {
  std::shared_ptr<physical> p = v->pinned;
  if (p == nullptr) return;
  p->pinned_to = nullptr;
  v->pinned = nullptr;
  v->section = 0;
  mark_broken(v->g, p);
  // Freed when the last holder lets go.
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
  std::shared_ptr<group>& slot = groups()[conninfo];
  if (slot == nullptr) {
    slot = std::make_shared<group>();
    slot->conninfo = conninfo;
  }
  std::shared_ptr<group> g = slot;
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
    if (adopt(g, c) == nullptr) {
      g->notify();
      return nullptr;
    }
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

bool pipelines(std::string_view sql) noexcept {
  bool ok = false;
  bool first = true;
  bool ended = false;  // a ';' came: only more ';' may follow
  balrog::pg::detail::for_each_word(sql, [&](std::string_view w) {
    if (w == ";") {
      ended = true;
      return true;
    }
    if (ended) {
      ok = false;  // a second statement: the simple protocol, alone
      return false;
    }
    if (first) {
      first = false;
      ok = iequals(w, "select") || iequals(w, "insert") || iequals(w, "update") ||
           iequals(w, "delete") || iequals(w, "with") || iequals(w, "values") ||
           iequals(w, "table") || iequals(w, "merge") || iequals(w, "show");
      return ok;
    }
    return true;
  });
  return ok && !pins_for_life(sql);
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

// What the engine's hook saw as the statement's Sync was read.
struct answer {
  bool settings_changed = false;
  PGTransactionStatusType txs = PQTRANS_IDLE;
};

// A shared statement, pipelined on a physical connection that `v` does not pin.
PGresult* exec_shared(vconn* v, const statement& st) {
  for (;;) {
    std::shared_ptr<physical> p = choose(v, false);
    if (p == nullptr) return nullptr;
    auto req = std::make_shared<pg::detail::request>();
    req->sql = st.sql;
    req->params.resize(static_cast<std::size_t>(st.n_params));
    for (int i = 0; i < st.n_params; ++i) {
      pg::param& out = req->params[static_cast<std::size_t>(i)];
      out.oid = st.types != nullptr ? st.types[i] : 0;
      out.binary = st.formats != nullptr && st.formats[i] != 0;
      const char* value = st.values != nullptr ? st.values[i] : nullptr;
      if (value == nullptr) continue;
      // libpq reads a text value up to its NUL, a binary one by its length.
      out.value = out.binary ? std::string(value, static_cast<std::size_t>(
                                                      st.lengths != nullptr ? st.lengths[i] : 0))
                             : std::string(value);
    }
    req->result_format = st.result_format;
    req->keep_error_result = true;
    auto seen = std::make_shared<answer>();
    req->on_answer = [seen, reported = p->reported, weak = std::weak_ptr<physical>(p), v](
                         const pg::detail::request& r, PGconn* c) {
      // PQTRANS_ACTIVE while later statements are in flight: their Syncs are still to come.
      const PGTransactionStatusType txs = ::PQtransactionStatus(c);
      seen->txs = txs == PQTRANS_INTRANS || txs == PQTRANS_INERROR ? txs : PQTRANS_IDLE;
      settings_t now = settings(c);
      if (now != *reported) {
        *reported = std::move(now);
        seen->settings_changed = true;
      }
      // The session changed: nothing else is sent on this connection from now on, before the
      // caller pins it (statements already sent behind it see the change).
      auto held = weak.lock();
      if ((seen->settings_changed || seen->txs != PQTRANS_IDLE) && !r.abandoned &&
          held != nullptr && held->pinned_to == nullptr) {
        held->pinned_to = v;
      }
    };
    ++p->outstanding;
    // The hook claimed the connection for `v`, which then gave up before pinning it.
    auto drop_claim = [&] {
      if (p->pinned_to == v && v->pinned != p) {
        p->pinned_to = nullptr;
        v->g->notify_free();
      }
    };
    pg::detail::result_ptr res;
    try {
      res = balrog::await(p->state->run(req, "PQexec"));
    } catch (const balrog::timeout_error&) {
      --p->outstanding;
      drop_claim();
      errno = ETIMEDOUT;
      return nullptr;
    } catch (const balrog::cancelled&) {
      --p->outstanding;
      drop_claim();
      errno = ECANCELED;
      return nullptr;
    } catch (const std::exception& e) {
      --p->outstanding;
      drop_claim();
      if (!req->sent) {
        mark_broken(v->g, p);  // broken before our statement went: it runs elsewhere
        continue;
      }
      std::string why = ::PQerrorMessage(p->conn);
      if (why.empty()) why = std::string(e.what()) + "\n";
      lose(v, p, std::move(why));
      return nullptr;
    }
    --p->outstanding;
    PGresult* r = res.release();
    v->txs = PQTRANS_IDLE;
    const char* message = r != nullptr ? PQresultErrorMessage(r) : "";
    v->error = message != nullptr ? message : "";
    if (seen->settings_changed || seen->txs != PQTRANS_IDLE) {
      // A reported setting changed where no keyword showed it (a function's SET): the session
      // keeps this server session for life. (A transaction block cannot begin here: only
      // single statements that cannot open one are pipelined; should one, it pins too.)
      if (seen->settings_changed) v->for_life = true;
      if (p->pinned_to == v || p->pinned_to == nullptr) {
        if (!p->broken && pin(v, p)) {
          v->txs = ::PQtransactionStatus(p->conn);
        } else {
          drop_claim();  // interrupted: the session goes on shared (its settings are lost)
        }
      }
    }
    return r;
  }
}

}  // namespace

PGresult* exec(vconn* v, std::string_view text, bool life, const statement* st,
               const std::function<PGresult*(PGconn*)>& run) {
  if (!usable_here(v)) return nullptr;
  errno = 0;
  life = life || pins_for_life(text);
  if (v->pinned == nullptr && !life && st != nullptr && st->n_params >= 0 &&
      st->n_params <= 65535 && pipelines(text)) {
    return exec_shared(v, *st);
  }
  std::shared_ptr<physical> p = v->pinned;
  const bool was_pinned = p != nullptr;
  if (p == nullptr) {
    p = pin_some(v);
    if (p == nullptr) return nullptr;
  } else if (p->broken) {
    lose(v, p, "server closed the connection unexpectedly\n");
    return nullptr;
  }
  const auto before = settings(p->conn);
  PGresult* r = run(p->conn);
  if (::PQstatus(p->conn) == CONNECTION_BAD) {
    lose(v, p, ::PQerrorMessage(p->conn));
    return r;
  }
  const PGTransactionStatusType txs = ::PQtransactionStatus(p->conn);
  const ExecStatusType rs = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  const bool copying = rs == PGRES_COPY_IN || rs == PGRES_COPY_OUT || rs == PGRES_COPY_BOTH;
  if (settings(p->conn) != before) life = true;
  if (life) v->for_life = true;
  v->txs = txs;
  v->error = ::PQerrorMessage(p->conn);
  // A NULL result (interrupted): results may still come; keep the session on it.
  if (!(v->for_life || txs != PQTRANS_IDLE || copying || r == nullptr)) unpin(v);
  (void)was_pinned;
  return r;
}

PGconn* pin_for_life(vconn* v) {
  if (!usable_here(v)) return nullptr;
  if (v->pinned == nullptr) {
    errno = 0;
    if (pin_some(v) == nullptr) return nullptr;
  }
  v->for_life = true;
  return v->pinned->conn;
}

PGconn* target(vconn* v) noexcept { return v->pinned != nullptr ? v->pinned->conn : v->handle; }

void after_raw(vconn* v) noexcept {
  std::shared_ptr<physical> p = v->pinned;
  if (p == nullptr) return;
  if (::PQstatus(p->conn) == CONNECTION_BAD) {
    lose(v, p, ::PQerrorMessage(p->conn));
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
