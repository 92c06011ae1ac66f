// balrog._native.pg: Postgres connections, results and pools for balrog.pg (the DB-API face is
// Python: pybridge/balrog/pg/). Every operation runs as a coroutine task of balrog::pg on the
// hub's loop while the calling greenlet waits (balrog/python/await.hpp).
#include <libpq-fe.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "balrog/errors.hpp"
#include "balrog/pg/connection.hpp"
#include "balrog/pg/error.hpp"
#include "balrog/pg/pool.hpp"
#include "balrog/python/await.hpp"
#include "bindings/bindings.hpp"
#include "hub/hub.hpp"
#include "hub/hub_access.hpp"
#include "pg/from_python.hpp"
#include "pg/python_types.hpp"
#include "pg/to_python.hpp"

namespace balrog::python {

namespace {

namespace pg = balrog::pg;

std::chrono::milliseconds to_ms(double seconds) {
  if (!(seconds >= 0) || std::isinf(seconds)) return std::chrono::milliseconds::zero();
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000)));
}

// A connection and the transaction open on it, shared with the tasks that use them: a task
// abandoned by its greenlet keeps them alive until it has unwound.
struct connection_state {
  explicit connection_state(pg::connection c) : own(std::move(c)), hub_id(this_thread_hub().id()) {}
  explicit connection_state(pg::pooled_connection p)
      : pooled(std::move(p)), hub_id(this_thread_hub().id()) {}

  pg::connection& conn() { return pooled ? **pooled : own; }

  // Declared first, destroyed last: an open transaction rolls back before a pooled connection
  // goes back to its pool.
  std::optional<pg::pooled_connection> pooled;
  pg::connection own;
  std::shared_ptr<pg::transaction> tx;
  std::uint64_t hub_id;
};

// The Python object's hold on a connection. A connection belongs to the thread (and loop)
// that made it: dropped on another thread (a garbage collection there), it is leaked rather
// than closed from the wrong thread.
class connection_handle {
 public:
  explicit connection_handle(std::shared_ptr<connection_state> s) : s_(std::move(s)) {}
  connection_handle(const connection_handle&) = delete;
  connection_handle& operator=(const connection_handle&) = delete;
  ~connection_handle() {
    if (s_ && !hub::still_current(s_->hub_id)) new std::shared_ptr<connection_state>(std::move(s_));
  }
  connection_state& state() {
    if (!s_) throw py::value_error("balrog.pg: the connection is closed");
    return *s_;
  }
  std::shared_ptr<connection_state> shared() {
    state();
    return s_;
  }
  void close() noexcept {
    if (!s_ || !hub::still_current(s_->hub_id)) return;
    s_->tx.reset();  // rolls back without waiting
    s_->own.close();
    s_->pooled.reset();  // back to its pool (which closes it if it is broken)
    s_.reset();
  }
  bool closed() const noexcept { return !s_ || !s_->conn().is_open(); }

 private:
  std::shared_ptr<connection_state> s_;
};

// --- tasks (they own what they use: greenlets may give up on them) --------------------------

task<pg::connection> connect_task(std::string conninfo, pg::connect_options options) {
  co_return co_await pg::connection::connect(std::move(conninfo), options);
}

task<std::shared_ptr<pg::result>> query_task(std::shared_ptr<connection_state> s, std::string sql,
                                             std::vector<pg::param> params) {
  // (Not a conditional expression: GCC 12 destroys a co_await result twice in one.)
  std::shared_ptr<pg::transaction> tx = s->tx;
  auto out = std::make_shared<pg::result>();
  if (tx) {
    *out = co_await tx->query(std::move(sql), std::move(params));
  } else {
    *out = co_await s->conn().query(std::move(sql), std::move(params));
  }
  co_return out;
}

task<void> script_task(std::shared_ptr<connection_state> s, std::string sql) {
  if (std::shared_ptr<pg::transaction> tx = s->tx) {
    co_await tx->query(std::move(sql));
  } else {
    co_await s->conn().execute_script(std::move(sql));
  }
}

task<void> begin_task(std::shared_ptr<connection_state> s, pg::isolation level, bool read_only) {
  pg::transaction t = co_await s->conn().begin(level, read_only);
  s->tx = std::make_shared<pg::transaction>(std::move(t));
}

task<void> end_task(std::shared_ptr<connection_state> s, bool commit) {
  std::shared_ptr<pg::transaction> tx = std::exchange(s->tx, nullptr);
  if (!tx || !tx->is_open()) co_return;
  if (commit) {
    co_await tx->commit();
  } else {
    co_await tx->rollback();
  }
}

task<void> cancel_task(std::shared_ptr<connection_state> s) { co_await s->conn().cancel(); }

task<std::optional<pg::notification>> notification_task(std::shared_ptr<connection_state> s,
                                                        deadline until) {
  co_return co_await s->conn().wait_notification(until);
}

task<std::shared_ptr<pg::pool>> pool_task(std::string conninfo, pg::pool_options options) {
  co_return std::make_shared<pg::pool>(co_await pg::pool::create(std::move(conninfo), options));
}

task<pg::pooled_connection> acquire_task(std::shared_ptr<pg::pool> p, deadline until) {
  co_return co_await p->acquire(until);
}

pg::isolation isolation_named(const std::string& name) {
  if (name.empty() || name == "read committed") return pg::isolation::read_committed;
  if (name == "repeatable read") return pg::isolation::repeatable_read;
  if (name == "serializable") return pg::isolation::serializable;
  throw py::value_error(
      "balrog.pg: isolation level must be 'read committed', 'repeatable read' "
      "or 'serializable', not '" +
      name + "'");
}

// --- results ---------------------------------------------------------------------------------

class result_object {
 public:
  explicit result_object(std::shared_ptr<pg::result> r) : r_(std::move(r)), rows_(*r_) {}
  [[nodiscard]] std::size_t size() const noexcept { return rows_.size(); }
  py::list fetch(std::size_t start, std::size_t count) const {
    const std::size_t end = std::min(rows_.size(), start + std::min(count, rows_.size()));
    py::list out(start < end ? end - start : 0);
    for (std::size_t i = start; i < end; ++i) {
      PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i - start), rows_.row(i).release().ptr());
    }
    return out;
  }
  [[nodiscard]] py::tuple row(std::size_t i) const { return rows_.row(i); }
  // (name, type_oid, internal_size, type_modifier) per column.
  [[nodiscard]] py::list columns() const {
    py::list out;
    PGresult* res = r_->native_handle();
    for (std::size_t c = 0; c < r_->columns(); ++c) {
      const int i = static_cast<int>(c);
      out.append(py::make_tuple(py::str(std::string(r_->column_name(c))), r_->column_type(c),
                                PQfsize(res, i), PQfmod(res, i)));
    }
    return out;
  }
  [[nodiscard]] std::string command_tag() const { return std::string(r_->command_tag()); }
  [[nodiscard]] std::uint64_t rows_affected() const noexcept { return r_->rows_affected(); }
  [[nodiscard]] bool has_rows() const noexcept {
    return PQresultStatus(r_->native_handle()) == PGRES_TUPLES_OK;
  }

 private:
  std::shared_ptr<pg::result> r_;
  pg_convert::rows rows_;
};

void translate_pg_errors() {
  py::register_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    try {
      std::rethrow_exception(p);
    } catch (const pg::error& e) {
      const char* kind = "";
      if (dynamic_cast<const pg::connection_error*>(&e) != nullptr) kind = "connection";
      if (dynamic_cast<const pg::pool_exhausted*>(&e) != nullptr) kind = "pool_exhausted";
      py::object exc = pg_types::get().error_for(e.sqlstate(), e.primary(), e.detail(), e.hint(),
                                                 e.severity(), kind);
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
    }
  });
}

}  // namespace

void define_pg(py::module_& parent) {
  py::module_ m = parent.def_submodule("pg", "balrog::pg for balrog.pg (see balrog/pg/)");
  translate_pg_errors();

  py::class_<result_object>(m, "Result")
      .def("__len__", &result_object::size)
      .def("fetch", &result_object::fetch, py::arg("start"), py::arg("count"))
      .def("row", &result_object::row)
      .def("columns", &result_object::columns)
      .def_property_readonly("command_tag", &result_object::command_tag)
      .def_property_readonly("rows_affected", &result_object::rows_affected)
      .def_property_readonly("has_rows", &result_object::has_rows);

  py::class_<connection_handle>(m, "Connection")
      .def_static(
          "connect",
          [](std::string conninfo, double timeout, std::size_t statement_cache, bool pipeline) {
            pg::connect_options o;
            o.timeout = to_ms(timeout);
            o.statement_cache = statement_cache;
            o.pipeline = pipeline;
            pg::connection c;
            try {
              c = await_task(connect_task(std::move(conninfo), o));
            } catch (const usage_error& e) {  // a malformed conninfo (psycopg: "invalid dsn")
              pg_types::raise_programming(e.what());
            }
            return std::make_unique<connection_handle>(
                std::make_shared<connection_state>(std::move(c)));
          },
          py::arg("conninfo"), py::arg("timeout") = 10.0, py::arg("statement_cache") = 256,
          py::arg("pipeline") = true)
      .def("query",
           [](connection_handle& h, std::string sql, const py::sequence& params) {
             auto s = h.shared();
             std::vector<pg::param> p = pg_convert::to_params(params);
             return result_object(
                 await_task(query_task(std::move(s), std::move(sql), std::move(p))));
           })
      .def("execute_script",
           [](connection_handle& h, std::string sql) {
             await_task(script_task(h.shared(), std::move(sql)));
           })
      .def(
          "begin",
          [](connection_handle& h, const std::string& isolation, bool read_only) {
            auto s = h.shared();
            if (s->tx) throw py::value_error("balrog.pg: a transaction is already open");
            await_task(begin_task(std::move(s), isolation_named(isolation), read_only));
          },
          py::arg("isolation") = "", py::arg("read_only") = false)
      .def("commit", [](connection_handle& h) { await_task(end_task(h.shared(), true)); })
      .def("rollback", [](connection_handle& h) { await_task(end_task(h.shared(), false)); })
      .def_property_readonly("in_transaction",
                             [](connection_handle& h) { return static_cast<bool>(h.state().tx); })
      .def("cancel", [](connection_handle& h) { await_task(cancel_task(h.shared())); })
      .def(
          "wait_notification",
          [](connection_handle& h, std::optional<double> timeout) -> py::object {
            deadline until = deadline::never();
            if (timeout) until = std::chrono::duration<double>(std::max(0.0, *timeout));
            auto n = await_task(notification_task(h.shared(), until));
            if (!n) return py::none();
            return py::make_tuple(n->channel, n->payload, n->backend_pid);
          },
          py::arg("timeout") = py::none())
      .def("discard",
           [](connection_handle& h) {
             connection_state& s = h.state();
             if (s.pooled) s.pooled->discard();
           })
      .def("close", &connection_handle::close)
      .def_property_readonly("closed", &connection_handle::closed)
      .def_property_readonly("server_version",
                             [](connection_handle& h) { return h.state().conn().server_version(); })
      .def_property_readonly("backend_pid",
                             [](connection_handle& h) { return h.state().conn().backend_pid(); })
      .def_property_readonly("pooled",
                             [](connection_handle& h) { return h.state().pooled.has_value(); });

  py::class_<pg::pool, std::shared_ptr<pg::pool>>(m, "Pool")
      .def_static(
          "create",
          [](std::string conninfo, std::size_t min_size, std::size_t max_size,
             double acquire_timeout, double max_lifetime, double max_idle, double connect_timeout,
             std::size_t statement_cache) {
            pg::pool_options o;
            o.min_size = min_size;
            o.max_size = max_size;
            o.acquire_timeout = to_ms(acquire_timeout);
            o.max_lifetime = to_ms(max_lifetime);
            o.max_idle = to_ms(max_idle);
            o.connect.timeout = to_ms(connect_timeout);
            o.connect.statement_cache = statement_cache;
            try {
              return await_task(pool_task(std::move(conninfo), o));
            } catch (const usage_error& e) {
              pg_types::raise_programming(e.what());
            }
          },
          py::arg("conninfo"), py::arg("min_size") = 0, py::arg("max_size") = 10,
          py::arg("acquire_timeout") = 10.0, py::arg("max_lifetime") = 1800.0,
          py::arg("max_idle") = 600.0, py::arg("connect_timeout") = 10.0,
          py::arg("statement_cache") = 256)
      .def(
          "acquire",
          [](const std::shared_ptr<pg::pool>& p, std::optional<double> timeout) {
            deadline until = deadline::never();
            if (timeout) until = std::chrono::duration<double>(std::max(0.0, *timeout));
            pg::pooled_connection c = await_task(acquire_task(p, until));
            return std::make_unique<connection_handle>(
                std::make_shared<connection_state>(std::move(c)));
          },
          py::arg("timeout") = py::none())
      .def("stats", [](const pg::pool& p) {
        const pg::pool_stats s = p.stats();
        py::dict d;
        d["open"] = s.open;
        d["idle"] = s.idle;
        d["waiting"] = s.waiting;
        d["connects"] = s.connects;
        d["connect_failures"] = s.connect_failures;
        d["discarded_broken"] = s.discarded_broken;
        d["discarded_old"] = s.discarded_old;
        d["acquire_timeouts"] = s.acquire_timeouts;
        d["rejected"] = s.rejected;
        return d;
      });
}

}  // namespace balrog::python
