// balrog._native.WsgiServer and WsgiExchange: the C++ half of balrog.wsgi (docs/python.md,
// "WSGI server").
//
// The HTTP server (balrog::http::server) runs on the hub's event loop in fiber mode: a fiber
// per connection reads and parses the request within the server's limits. Its handler never
// runs Python: it moves the request into an `exchange` (plain C++, shared), posts it to the hub
// with call_in_hub and waits on the exchange's event. In the hub, the server's dispatch
// function (Python, looked up by the server's id) spawns a greenlet that runs the WSGI
// application and answers through the exchange:
//   respond()   a whole body: the fiber answers it with Content-Length;
//   stream()    a streamed body: the fiber answers with a producer popping the exchange's
//               bounded channel of chunks, which write() fills (waiting on a fiber when it is
//               full: back-pressure from a slow client), finish() closes, abort() breaks;
//   sendfile()  a file part: the fiber sends it with sendfile(2).
// When the client goes away or the response is dropped unsent (HEAD, a bodiless status), the
// exchange is hung up: the channel closes and write() raises ConnectionResetError.
#include <fcntl.h>
#include <pybind11/stl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/http/server.hpp"
#include "balrog/python/await.hpp"
#include "balrog/sync/channel.hpp"
#include "balrog/sync/event.hpp"
#include "bindings/bindings.hpp"
#include "bindings/ws_hub.hpp"

namespace balrog::python {

namespace py = pybind11;
namespace hs = balrog::http::server;
namespace ws = balrog::http::websocket;

namespace {

using header_list = std::vector<std::pair<std::string, std::string>>;

// Chunks a streamed body may have queued ahead of the client before write() waits.
constexpr std::size_t stream_queue_chunks = 8;

struct exchange {
  // --- the request (written by the connection's fiber before the hub sees it) ---
  std::string method;
  std::string target;
  std::string path;
  std::string query;
  unsigned version = 11;
  header_list headers;
  std::string body;
  std::string remote_address;
  std::uint16_t remote_port = 0;

  // --- the response (written by the greenlet, read by the fiber once `ready` is set) ---
  enum class kind { whole, stream, file };
  kind what = kind::whole;
  int status = 500;
  std::string reason;
  header_list response_headers;
  std::string response_body;
  int file_fd = -1;  // owned until the fiber adopts it
  std::uint64_t file_offset = 0;
  std::uint64_t file_length = 0;

  balrog::event ready;
  balrog::channel<std::string> chunks{stream_queue_chunks};
  bool aborted = false;   // the application failed mid-body: the connection is dropped
  bool hung_up = false;   // the client is gone, or the body will not be sent
  bool answered = false;  // respond(), stream() or sendfile() was called

  exchange() = default;
  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;
  ~exchange() {
    if (file_fd >= 0) ::close(file_fd);
  }

  void hang_up() noexcept {
    hung_up = true;
    chunks.close();
  }

  // An answer the hub gives without the application (no server, a failing dispatch).
  void fail(int code, std::string text) {
    what = kind::whole;
    status = code;
    reason.clear();
    response_headers = {{"Content-Type", "text/plain; charset=utf-8"}};
    response_body = std::move(text);
    answered = true;
    ready.set();
  }
};

// Closes the exchange when the fiber is done with the response, sent or not.
struct hang_up_at_exit {
  std::shared_ptr<exchange> ex;
  explicit hang_up_at_exit(std::shared_ptr<exchange> e) : ex(std::move(e)) {}
  hang_up_at_exit(const hang_up_at_exit&) = delete;
  hang_up_at_exit& operator=(const hang_up_at_exit&) = delete;
  ~hang_up_at_exit() { ex->hang_up(); }
};

// The server computes the body's framing itself (Content-Length, chunked).
bool is_framing_header(std::string_view name) {
  return boost::beast::iequals(name, "content-length") ||
         boost::beast::iequals(name, "transfer-encoding");
}

void apply_head(hs::response& r, const exchange& ex) {
  auto& m = r.message();
  m.result(static_cast<unsigned>(ex.status));
  if (!ex.reason.empty()) m.reason(ex.reason);
  for (const auto& [name, value] : ex.response_headers) {
    if (!is_framing_header(name)) m.insert(name, value);
  }
}

// The connection's fiber: the answer the greenlet gave, as the server's response.
hs::response to_response(const std::shared_ptr<exchange>& ex) {
  switch (ex->what) {
    case exchange::kind::whole: {
      hs::response r;
      apply_head(r, *ex);
      r.body() = std::move(ex->response_body);
      return r;
    }
    case exchange::kind::file: {
      const int fd = std::exchange(ex->file_fd, -1);
      hs::response r = hs::response::file(fd, ex->file_offset, ex->file_length, {});
      apply_head(r, *ex);
      return r;
    }
    case exchange::kind::stream:
      break;
  }
  auto guard = std::make_shared<hang_up_at_exit>(ex);
  hs::response r = hs::response::stream(
      [guard](hs::chunk_writer& out) {
        exchange& e = *guard->ex;
        while (std::optional<std::string> chunk = e.chunks.pop()) out.write(*chunk);
        if (e.aborted) throw std::runtime_error("balrog.wsgi: the application failed mid-body");
      },
      {});
  r.message().erase(hs::field::content_type);
  apply_head(r, *ex);
  return r;
}

// The Python dispatch functions of the servers alive, by id (never destroyed: the process
// may end with servers registered).
py::dict& dispatchers() {
  static auto* d = new py::dict();
  return *d;
}

// In the hub greenlet, with the GIL: hands the exchange to the server's dispatch function,
// which spawns the request's greenlet (and never waits).
void dispatch_in_hub(std::uint64_t server_id, const std::shared_ptr<exchange>& ex);

struct server_core {
  std::uint64_t id = 0;
  hs::options options;
  int access_log_fd = -1;
  std::string websocket_path;  // "": no WebSocket endpoint (balrog.ws)
  std::string websocket_key = "balrog_ws";
  std::unique_ptr<hs::server> server;

  ~server_core() {
    if (access_log_fd >= 0) ::close(access_log_fd);
  }
};

hs::response handle(std::uint64_t server_id, hs::request& req) {
  auto ex = std::make_shared<exchange>();
  ex->method = std::string(req.method_string());
  ex->target = std::string(req.target());
  ex->path = std::string(req.path());
  ex->query = std::string(req.query());
  ex->version = req.version();
  for (const auto& f : req.headers()) {
    ex->headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  }
  ex->body = std::move(req.message().body());
  const net::endpoint& peer = req.remote_endpoint();
  if (peer.is_ip()) {
    ex->remote_address = peer.address();
    ex->remote_port = peer.port();
  }
  if (!call_in_hub([server_id, ex] { dispatch_in_hub(server_id, ex); })) {
    return hs::response::text("balrog.wsgi: no hub on this thread\n",
                              hs::status::service_unavailable);
  }
  try {
    ex->ready.wait();
  } catch (...) {
    ex->hang_up();  // cancelled (shutdown past its grace): the greenlet's writes now fail
    throw;
  }
  return to_response(ex);
}

std::chrono::milliseconds to_ms(double seconds) {
  if (!(seconds > 0) || std::isinf(seconds)) {
    throw py::value_error("balrog.wsgi: a timeout must be a positive number of seconds");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000.0)));
}

// PEP 3333: header names and values are str holding latin-1 characters, sent as those bytes.
std::string latin1_bytes(const py::handle& text) {
  if (!PyUnicode_Check(text.ptr())) throw py::type_error("balrog.wsgi: a header is a str");
  PyObject* b = PyUnicode_AsLatin1String(text.ptr());
  if (b == nullptr) throw py::error_already_set();
  auto owned = py::reinterpret_steal<py::bytes>(b);
  return std::string(owned);
}

header_list to_headers(const py::list& list) {
  header_list out;
  out.reserve(list.size());
  for (const py::handle item : list) {
    auto pair = item.cast<py::tuple>();
    if (pair.size() != 2) throw py::type_error("balrog.wsgi: a header is a (name, value) pair");
    out.emplace_back(latin1_bytes(pair[0]), latin1_bytes(pair[1]));
  }
  return out;
}

py::str latin1(std::string_view s) {
  PyObject* o = PyUnicode_DecodeLatin1(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr);
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

// Sets env[key] = value, stealing the reference to value (nullptr: a Python error is set).
void set_item(PyObject* env, const char* key, PyObject* value) {
  if (value == nullptr) throw py::error_already_set();
  const int rc = PyDict_SetItemString(env, key, value);
  Py_DECREF(value);
  if (rc != 0) throw py::error_already_set();
}

PyObject* latin1_object(std::string_view s) {
  return PyUnicode_DecodeLatin1(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX escapes decoded (a '%' not followed by two hex digits stays as it is, as
// urllib.parse.unquote_to_bytes does).
std::string percent_decoded(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_digit(s[i + 1]);
      const int lo = hex_digit(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// The PEP 3333 environ of a request (docs/python.md, "WSGI server"): a copy of `base` (the
// server's constant keys) with the request's keys, its header fields as HTTP_* (names with
// '_' dropped, repeated fields joined with ','), and wsgi.input = make_input(body). Built
// here in one call rather than from a dozen property reads in Python: it runs per request.
py::dict make_environ(exchange& ex, const py::dict& base, std::string_view script_name,
                      const py::object& make_input) {
  py::dict env = py::reinterpret_steal<py::dict>(PyDict_Copy(base.ptr()));
  if (!env) throw py::error_already_set();
  PyObject* e = env.ptr();
  std::string path = ex.path.find('%') == std::string::npos ? ex.path : percent_decoded(ex.path);
  if (!script_name.empty() && path.size() >= script_name.size() &&
      path.compare(0, script_name.size(), script_name) == 0 &&
      (path.size() == script_name.size() || path[script_name.size()] == '/')) {
    path.erase(0, script_name.size());
  }
  set_item(e, "REQUEST_METHOD", latin1_object(ex.method));
  set_item(e, "PATH_INFO", latin1_object(path));
  set_item(e, "QUERY_STRING", latin1_object(ex.query));
  {
    PyObject* target = latin1_object(ex.target);
    if (target == nullptr) throw py::error_already_set();
    const int rc = PyDict_SetItemString(e, "RAW_URI", target);
    set_item(e, "REQUEST_URI", target);
    if (rc != 0) throw py::error_already_set();
  }
  set_item(e, "SERVER_PROTOCOL", PyUnicode_FromString(ex.version == 11 ? "HTTP/1.1" : "HTTP/1.0"));
  set_item(e, "REMOTE_ADDR",
           PyUnicode_FromStringAndSize(ex.remote_address.data(),
                                       static_cast<Py_ssize_t>(ex.remote_address.size())));
  set_item(e, "REMOTE_PORT", PyUnicode_FromString(std::to_string(ex.remote_port).c_str()));
  bool has_length = false;
  std::string key;
  for (const auto& [name, value] : ex.headers) {
    if (name.find('_') != std::string::npos) continue;  // X_A would pass for X-A (nginx drops)
    key.assign("HTTP_");
    for (const char c : name) {
      key += c == '-' ? '_' : static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    std::string_view k = key;
    if (k == "HTTP_CONTENT_LENGTH") {
      has_length = true;
      continue;
    }
    if (k == "HTTP_CONTENT_TYPE") k.remove_prefix(5);
    py::object pk = latin1(k);
    PyObject* old = PyDict_GetItemWithError(e, pk.ptr());
    if (old == nullptr && PyErr_Occurred()) throw py::error_already_set();
    py::object v = latin1(value);
    if (old != nullptr) {
      v = py::reinterpret_steal<py::object>(PyUnicode_FromFormat("%U,%U", old, v.ptr()));
      if (!v) throw py::error_already_set();
    }
    if (PyDict_SetItem(e, pk.ptr(), v.ptr()) != 0) throw py::error_already_set();
  }
  const std::size_t body_size = ex.body.size();
  py::bytes body(ex.body);
  ex.body = std::string();
  if (body_size > 0 || has_length) {
    set_item(e, "CONTENT_LENGTH", PyUnicode_FromString(std::to_string(body_size).c_str()));
  }
  env["wsgi.input"] = make_input(body);
  return env;
}

[[noreturn]] void raise_gone() {
  PyErr_SetString(PyExc_ConnectionResetError, "balrog.wsgi: the client went away");
  throw py::error_already_set();
}

// What Python holds of an exchange (a shared_ptr: the fiber may be done with it first).
class exchange_handle {
 public:
  explicit exchange_handle(std::shared_ptr<exchange> ex) : ex_(std::move(ex)) {}

  exchange& ex() const { return *ex_; }

  void answer(int status, std::string reason, const py::list& headers) {
    if (ex_->answered) throw py::value_error("balrog.wsgi: the response was already started");
    if (status < 100 || status > 999) throw py::value_error("balrog.wsgi: bad status code");
    ex_->status = status;
    ex_->reason = std::move(reason);
    ex_->response_headers = to_headers(headers);
  }

  void respond(int status, std::string reason, const py::list& headers, const py::bytes& body) {
    answer(status, std::move(reason), headers);
    ex_->what = exchange::kind::whole;
    ex_->response_body = std::string(body);
    ex_->answered = true;
    ex_->ready.set();
  }

  void stream(int status, std::string reason, const py::list& headers) {
    answer(status, std::move(reason), headers);
    ex_->what = exchange::kind::stream;
    ex_->answered = true;
    ex_->ready.set();
  }

  void sendfile(int status, std::string reason, const py::list& headers, int fd,
                std::uint64_t offset, std::uint64_t length) {
    answer(status, std::move(reason), headers);
    const int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0)
      throw io_error(std::error_code(errno, std::system_category()),
                     "balrog.wsgi: dup of the file to send");
    ex_->what = exchange::kind::file;
    ex_->file_fd = own;
    ex_->file_offset = offset;
    ex_->file_length = length;
    ex_->answered = true;
    ex_->ready.set();
  }

  // One chunk of a streamed body: queued at once while the queue has room, else the greenlet
  // waits (on a fiber) until the client has taken enough.
  void write(const py::bytes& data) {
    if (ex_->what != exchange::kind::stream || !ex_->answered) {
      throw py::value_error("balrog.wsgi: write() before stream()");
    }
    std::string chunk(data);
    if (chunk.empty()) return;
    if (ex_->hung_up) raise_gone();
    if (ex_->chunks.try_push(std::move(chunk))) return;
    if (ex_->chunks.closed()) raise_gone();
    const bool queued = await_fiber([ex = ex_, c = std::move(chunk)]() mutable {
      try {
        ex->chunks.push(std::move(c));
        return true;
      } catch (const channel_closed&) {
        return false;
      }
    });
    if (!queued) raise_gone();
  }

  void finish() { ex_->chunks.close(); }

  void abort() {
    ex_->aborted = true;
    ex_->chunks.close();
    if (!ex_->answered) ex_->fail(500, "Internal Server Error\n");
  }

 private:
  std::shared_ptr<exchange> ex_;
};

void dispatch_in_hub(std::uint64_t server_id, const std::shared_ptr<exchange>& ex) {
  try {
    py::object key = py::int_(server_id);
    py::dict& d = dispatchers();
    if (!d.contains(key)) {
      ex->fail(503, "balrog.wsgi: the server is closed\n");
      return;
    }
    d[key](std::make_shared<exchange_handle>(ex));
  } catch (py::error_already_set& e) {
    e.discard_as_unraisable("balrog.wsgi: dispatching a request");
    if (!ex->answered) ex->fail(500, "Internal Server Error\n");
  } catch (...) {  // a C++ failure (memory): the client gets a 500, the hub goes on
    if (!ex->answered) ex->fail(500, "Internal Server Error\n");
  }
}

// The Python object: owns the core; the server itself is made, run and shut down on fibers.
class wsgi_server {
 public:
  wsgi_server(py::object dispatch, const py::dict& opts) : core_(std::make_shared<server_core>()) {
    static std::uint64_t next_id = 0;
    core_->id = ++next_id;
    hs::options& o = core_->options;
    o.server_name = "balrog";
    for (const auto& [k, v] : opts) {
      const auto key = k.cast<std::string>();
      if (key == "max_body_bytes") {
        o.max_body_bytes = v.cast<std::uint64_t>();
      } else if (key == "max_header_bytes") {
        o.max_header_bytes = v.cast<std::size_t>();
      } else if (key == "max_connections") {
        o.max_connections = v.cast<std::size_t>();
      } else if (key == "header_timeout") {
        o.header_timeout = to_ms(v.cast<double>());
      } else if (key == "body_timeout") {
        o.body_timeout = to_ms(v.cast<double>());
      } else if (key == "idle_timeout") {
        o.idle_timeout = to_ms(v.cast<double>());
      } else if (key == "write_timeout") {
        o.write_timeout = to_ms(v.cast<double>());
      } else if (key == "shutdown_grace") {
        o.shutdown_grace = to_ms(v.cast<double>());
      } else if (key == "server_name") {
        o.server_name = v.cast<std::string>();
      } else if (key == "backlog") {
        o.listen.backlog = v.cast<int>();
      } else if (key == "reuse_port") {
        o.listen.reuse_port = v.cast<bool>();
      } else if (key == "websocket_path") {
        core_->websocket_path = v.cast<std::string>();
      } else if (key == "websocket_key") {
        core_->websocket_key = v.cast<std::string>();
        if (core_->websocket_key.empty()) throw py::value_error("balrog.ws: an empty key name");
      } else if (key == "access_log_fd") {
        const int fd = v.cast<int>();
        if (fd >= 0) {
          core_->access_log_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
          if (core_->access_log_fd < 0)
            throw io_error(std::error_code(errno, std::system_category()),
                           "balrog.wsgi: dup of the log");
        }
      } else {
        throw py::type_error("balrog.wsgi: unknown server option '" + key + "'");
      }
    }
    o.on_handler_error = [](const hs::request& req, std::exception_ptr) {
      // Only the bridge's own failures reach here (the application's are answered in
      // Python); the response is already a 500.
      std::fprintf(stderr, "balrog.wsgi: failed to answer %s %.*s\n",
                   std::string(req.method_string()).c_str(), static_cast<int>(req.target().size()),
                   req.target().data());
    };
    dispatchers()[py::int_(core_->id)] = std::move(dispatch);
  }

  ~wsgi_server() {
    {
      py::dict& d = dispatchers();
      py::object key = py::int_(core_->id);
      if (d.contains(key)) PyDict_DelItem(d.ptr(), key.ptr());
    }
    if (!core_->server) return;
    // Collected while serving: shut down (requests in flight cancelled) on a fiber, since
    // the server's destructor waits; without a loop on this thread, leak it.
    try {
      balrog::spawn([core = core_] {
        core->server->shutdown(std::chrono::milliseconds(0));
        core->server.reset();
      }).detach();
    } catch (...) {
      (void)core_->server.release();
    }
  }

  wsgi_server(const wsgi_server&) = delete;
  wsgi_server& operator=(const wsgi_server&) = delete;

  int listen(const std::string& where) {
    if (core_->server) throw py::value_error("balrog.wsgi: already listening");
    const net::endpoint at = net::endpoint::parse(where);
    return await_fiber([core = core_, at] {
      hs::router r;
      if (core->access_log_fd >= 0) {
        r.use(hs::access_log([fd = core->access_log_fd](std::string_view line) {
          std::string l(line);
          l += '\n';
          const char* p = l.data();
          std::size_t left = l.size();
          while (left > 0) {
            const ssize_t n = ::write(fd, p, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;  // a log that fails loses its line, not the request
            p += n;
            left -= static_cast<std::size_t>(n);
          }
        }));
      }
      const std::uint64_t id = core->id;
      auto h = [id](hs::request& req) { return handle(id, req); };
      for (hs::verb v : {hs::verb::get, hs::verb::head, hs::verb::post, hs::verb::put,
                         hs::verb::delete_, hs::verb::patch, hs::verb::options}) {
        r.route(v, "/{path...}", h);
      }
      if (!core->websocket_path.empty()) {
        // balrog.ws: upgrades on this path are served in C++ (ws_bindings.cpp); a literal
        // path wins over the catch-all above.
        r.websocket(core->websocket_path,
                    [name = core->websocket_key](hs::request& req, ws::connection& c) {
                      serve_websocket_client(req, c, name);
                    });
      }
      auto s = std::make_unique<hs::server>(std::move(r), core->options);
      s->listen(at);
      const int port = s->local_endpoint().port();
      core->server = std::move(s);
      return port;
    });
  }

  void shutdown(std::optional<double> grace) {
    if (!core_->server) return;
    const auto g =
        grace ? std::chrono::milliseconds(static_cast<std::int64_t>(std::max(0.0, *grace) * 1000.0))
              : core_->options.shutdown_grace;
    await_fiber([core = core_, g] { core->server->shutdown(g); });
  }

  void wait() {
    if (!core_->server) throw py::value_error("balrog.wsgi: not listening");
    await_fiber([core = core_] { core->server->wait(); });
  }

  [[nodiscard]] std::size_t open_connections() const {
    return core_->server ? core_->server->open_connections() : 0;
  }

 private:
  std::shared_ptr<server_core> core_;
};

}  // namespace

void define_wsgi(py::module_& m) {
  py::class_<exchange_handle, std::shared_ptr<exchange_handle>>(m, "WsgiExchange")
      .def_property_readonly("method",
                             [](const exchange_handle& h) { return latin1(h.ex().method); })
      .def_property_readonly("target",
                             [](const exchange_handle& h) { return latin1(h.ex().target); })
      .def_property_readonly("path", [](const exchange_handle& h) { return latin1(h.ex().path); })
      .def_property_readonly("query", [](const exchange_handle& h) { return latin1(h.ex().query); })
      .def_property_readonly("version", [](const exchange_handle& h) { return h.ex().version; })
      .def_property_readonly("headers",
                             [](const exchange_handle& h) {
                               py::list out;
                               for (const auto& [k, v] : h.ex().headers) {
                                 out.append(py::make_tuple(latin1(k), latin1(v)));
                               }
                               return out;
                             })
      .def("take_body",
           [](exchange_handle& h) {
             py::bytes b(h.ex().body);
             h.ex().body = std::string();
             return b;
           })
      .def(
          "environ",
          [](exchange_handle& h, const py::dict& base, std::string_view script_name,
             const py::object& make_input) {
            return make_environ(h.ex(), base, script_name, make_input);
          },
          py::arg("base"), py::arg("script_name"), py::arg("make_input"))
      .def_property_readonly("remote_address",
                             [](const exchange_handle& h) { return h.ex().remote_address; })
      .def_property_readonly("remote_port",
                             [](const exchange_handle& h) { return h.ex().remote_port; })
      .def_property_readonly("hung_up", [](const exchange_handle& h) { return h.ex().hung_up; })
      .def_property_readonly("answered", [](const exchange_handle& h) { return h.ex().answered; })
      .def("respond", &exchange_handle::respond, py::arg("status"), py::arg("reason"),
           py::arg("headers"), py::arg("body"))
      .def("stream", &exchange_handle::stream, py::arg("status"), py::arg("reason"),
           py::arg("headers"))
      .def("sendfile", &exchange_handle::sendfile, py::arg("status"), py::arg("reason"),
           py::arg("headers"), py::arg("fd"), py::arg("offset"), py::arg("length"))
      .def("write", &exchange_handle::write, py::arg("data"))
      .def("finish", &exchange_handle::finish)
      .def("abort", &exchange_handle::abort);

  py::class_<wsgi_server>(m, "WsgiServer")
      .def(py::init<py::object, const py::dict&>(), py::arg("dispatch"), py::arg("options"))
      .def("listen", &wsgi_server::listen, py::arg("where"))
      .def("shutdown", &wsgi_server::shutdown, py::arg("grace") = py::none())
      .def("wait", &wsgi_server::wait)
      .def_property_readonly("open_connections", &wsgi_server::open_connections);
}

}  // namespace balrog::python
