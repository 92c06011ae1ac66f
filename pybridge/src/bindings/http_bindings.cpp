// balrog._native.http: sessions, requests, responses and WebSocket connections for balrog.http
// (the requests-like face is Python: pybridge/balrog/http/). A request runs as a coroutine task
// of balrog::http on the hub's loop while the calling greenlet waits; a WebSocket operation
// (blocking-style C++) runs on a fiber of the loop the same way (balrog/python/await.hpp).
// Many greenlets making requests at once make many tasks: they share the thread's libcurl multi
// handle and run concurrently.
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/http/client.hpp"
#include "balrog/http/websocket.hpp"
#include "balrog/python/await.hpp"
#include "bindings/bindings.hpp"
#include "hub/hub.hpp"
#include "hub/hub_access.hpp"

namespace balrog::python {

namespace {

namespace py = pybind11;
namespace http = balrog::http;
namespace ws = balrog::http::websocket;

using field_list = std::vector<std::pair<std::string, std::string>>;
// (name, data, filename, content_type) of one multipart/form-data part.
using part_tuple = std::tuple<std::string, py::bytes, std::string, std::string>;

// Seconds (Python) to milliseconds, rounded up so that 0.0001 s is not "no limit". NaN and
// negatives are refused by the Python side; infinity means "no limit" (0).
std::chrono::milliseconds to_ms(double seconds) {
  if (!(seconds > 0) || std::isinf(seconds)) return std::chrono::milliseconds::zero();
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000)));
}

// --- errors -----------------------------------------------------------------------------------

// Whether a request's timeout happened before the connection was up (requests' ConnectTimeout)
// though a connection had been up before (a redirect's next hop): then only libcurl's message
// tells. Without any connection, http::connect_timeout says so (whatever the message).
bool connect_phase(std::string_view what) {
  return what.find("Connection timed out") != std::string_view::npos ||
         what.find("Connection timeout after") != std::string_view::npos ||
         what.find("Resolving timed out") != std::string_view::npos ||
         what.find("Failed to connect") != std::string_view::npos;
}

// Raises balrog.http's exception for `kind` (balrog/http/_errors.py builds it).
void set_http_error(const char* kind, const char* what, int code, const std::string& url) {
  try {
    py::object exc =
        py::module_::import("balrog.http._errors").attr("_from_native")(kind, what, code, url);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  } catch (py::error_already_set& e) {
    e.restore();  // the import failed: that error is raised instead
  }
}

void translate_http_errors() {
  py::register_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    try {
      std::rethrow_exception(p);
    } catch (const http::tls_error& e) {
      set_http_error("tls", e.what(), e.curl_code(), e.url());
    } catch (const http::connection_error& e) {
      set_http_error("connection", e.what(), e.curl_code(), e.url());
    } catch (const http::connect_timeout& e) {
      set_http_error("connect_timeout", e.what(), e.curl_code(), e.url());
    } catch (const http::timeout& e) {
      set_http_error(connect_phase(e.what()) ? "connect_timeout" : "timeout", e.what(),
                     e.curl_code(), e.url());
    } catch (const http::invalid_request& e) {
      set_http_error("invalid", e.what(), e.curl_code(), e.url());
    } catch (const http::too_many_redirects& e) {
      set_http_error("redirects", e.what(), e.curl_code(), e.url());
    } catch (const http::body_too_large& e) {
      set_http_error("too_large", e.what(), e.curl_code(), e.url());
    } catch (const http::request_error& e) {
      set_http_error("request", e.what(), e.curl_code(), e.url());
    } catch (const ws::protocol_error& e) {
      set_http_error("ws_protocol", e.what(), e.close_code(), "");
    } catch (const ws::connection_closed& e) {
      set_http_error("ws_closed", e.what(), 0, "");
    } catch (const ws::handshake_error& e) {
      set_http_error("ws_handshake", e.what(), static_cast<int>(e.status()), "");
    } catch (const http::error& e) {
      set_http_error("error", e.what(), 0, "");
    }
    // Anything else (balrog::timeout_error of an enclosing deadline, io_error...) goes on to
    // the bridge's general translators (bindings/errors.cpp).
  });
}

// --- sessions and requests --------------------------------------------------------------------

struct session_handle {
  std::shared_ptr<http::session> s;
};

// What a Python call asks for, turned into request_options (the GIL is held while it is built:
// it reads Python objects).
struct request_args {
  field_list params, headers, cookies;
  std::optional<py::bytes> data;
  std::optional<field_list> form;
  std::optional<std::vector<part_tuple>> multipart;
  std::optional<double> timeout, connect_timeout, idle_timeout;
  std::optional<bool> allow_redirects;
  std::optional<long> max_redirects;
  std::optional<bool> verify;
  std::string ca_file, ca_path, cert_file, key_file;
  std::optional<std::string> proxy;
  bool stream = false;

  http::request_options options() && {
    http::request_options o;
    o.params = std::move(params);
    o.headers = std::move(headers);
    o.cookies = std::move(cookies);
    if (data) o.data = std::string(*data);
    if (form) o.form = std::move(*form);
    if (multipart) {
      for (auto& [name, bytes, filename, type] : *multipart) {
        http::multipart_part part;
        part.name = std::move(name);
        part.data = std::string(bytes);
        part.filename = std::move(filename);
        part.content_type = std::move(type);
        o.multipart.push_back(std::move(part));
      }
    }
    if (timeout) o.timeout = to_ms(*timeout);
    if (connect_timeout) o.connect_timeout = to_ms(*connect_timeout);
    if (idle_timeout) o.idle_timeout = to_ms(*idle_timeout);
    o.allow_redirects = allow_redirects;
    o.max_redirects = max_redirects;
    if (verify || !ca_file.empty() || !ca_path.empty() || !cert_file.empty()) {
      http::tls_options t;
      t.verify = verify.value_or(true);
      t.ca_file = std::move(ca_file);
      t.ca_path = std::move(ca_path);
      t.client_certificate_file = std::move(cert_file);
      t.client_key_file = std::move(key_file);
      o.tls = std::move(t);
    }
    o.proxy = std::move(proxy);
    o.stream = stream;
    return o;
  }
};

task<std::shared_ptr<http::response>> request_task(std::shared_ptr<http::session> s,
                                                   std::string method, std::string url,
                                                   http::request_options o) {
  auto out = std::make_shared<http::response>();
  *out = co_await s->request(std::move(method), std::move(url), std::move(o));
  co_return out;
}

task<std::optional<std::string>> chunk_task(std::shared_ptr<http::response> r) {
  co_return co_await r->next_chunk();
}

task<void> read_all_task(std::shared_ptr<http::response> r) { co_await r->read_all(); }

// A response as Python holds it. A streaming one owns a transfer of the thread that made it:
// dropped on another thread (a garbage collection there) it is leaked, not touched.
class response_handle {
 public:
  explicit response_handle(std::shared_ptr<http::response> r)
      : r_(std::move(r)), hub_id_(this_thread_hub().id()) {}
  response_handle(const response_handle&) = delete;
  response_handle& operator=(const response_handle&) = delete;
  ~response_handle() {
    if (r_ && r_->streaming() && !hub::still_current(hub_id_)) {
      new std::shared_ptr<http::response>(std::move(r_));
    }
  }
  const http::response& get() const { return *r_; }
  std::shared_ptr<http::response> shared() {
    if (!hub::still_current(hub_id_)) {
      throw py::value_error("balrog.http: the response belongs to another thread's hub");
    }
    return r_;
  }
  // Abandons a streaming transfer (its connection is closed, not reused).
  void close() {
    if (r_ && r_->streaming() && hub::still_current(hub_id_)) *r_ = http::response();
  }

 private:
  std::shared_ptr<http::response> r_;
  std::uint64_t hub_id_;
};

http::session_options session_options_from(std::string base_url, field_list headers, double timeout,
                                           double connect_timeout, double idle_timeout,
                                           bool allow_redirects, long max_redirects, bool verify,
                                           std::string ca_file, std::string ca_path,
                                           std::string proxy, std::size_t max_response_bytes,
                                           bool decompress, std::string user_agent, bool cookies) {
  http::session_options o;
  o.base_url = std::move(base_url);
  o.headers = std::move(headers);
  o.timeout = to_ms(timeout);
  o.connect_timeout = to_ms(connect_timeout);
  o.idle_timeout = to_ms(idle_timeout);
  o.allow_redirects = allow_redirects;
  o.max_redirects = max_redirects;
  o.tls.verify = verify;
  o.tls.ca_file = std::move(ca_file);
  o.tls.ca_path = std::move(ca_path);
  o.proxy = std::move(proxy);
  o.max_response_bytes = max_response_bytes;
  o.decompress = decompress;
  o.user_agent = std::move(user_agent);
  o.cookies = cookies;
  return o;
}

double seconds_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// --- WebSocket ---------------------------------------------------------------------------------

class websocket_handle {
 public:
  explicit websocket_handle(std::shared_ptr<ws::connection> c)
      : c_(std::move(c)), hub_id_(this_thread_hub().id()) {}
  websocket_handle(const websocket_handle&) = delete;
  websocket_handle& operator=(const websocket_handle&) = delete;
  ~websocket_handle() {
    if (c_ && !hub::still_current(hub_id_)) new std::shared_ptr<ws::connection>(std::move(c_));
  }
  std::shared_ptr<ws::connection> shared() {
    if (!hub::still_current(hub_id_)) {
      throw py::value_error("balrog.http: the WebSocket belongs to another thread's hub");
    }
    return c_;
  }
  const ws::connection& get() const { return *c_; }

 private:
  std::shared_ptr<ws::connection> c_;
  std::uint64_t hub_id_;
};

}  // namespace

void define_http(py::module_& parent) {
  py::module_ m = parent.def_submodule("http", "balrog::http for balrog.http (see balrog/http/)");
  translate_http_errors();

  py::class_<response_handle>(m, "Response")
      .def_property_readonly("status", [](const response_handle& h) { return h.get().status(); })
      .def_property_readonly("reason", [](const response_handle& h) { return h.get().reason(); })
      .def_property_readonly(
          "headers",
          [](const response_handle& h) {
            py::list out;
            for (const auto& [name, value] : h.get().headers()) {
              // Header bytes as Latin-1, as http.client reads them.
              out.append(py::make_tuple(
                  py::reinterpret_steal<py::object>(PyUnicode_DecodeLatin1(
                      name.data(), static_cast<Py_ssize_t>(name.size()), nullptr)),
                  py::reinterpret_steal<py::object>(PyUnicode_DecodeLatin1(
                      value.data(), static_cast<Py_ssize_t>(value.size()), nullptr))));
            }
            return out;
          })
      .def_property_readonly("body",
                             [](const response_handle& h) { return py::bytes(h.get().text()); })
      .def_property_readonly("url", [](const response_handle& h) { return h.get().url(); })
      .def_property_readonly("redirect_count",
                             [](const response_handle& h) { return h.get().redirect_count(); })
      .def_property_readonly(
          "http_version",
          [](const response_handle& h) { return std::string(h.get().http_version()); })
      .def_property_readonly("elapsed",
                             [](const response_handle& h) {
                               return std::chrono::duration<double>(h.get().elapsed()).count();
                             })
      .def_property_readonly("streaming",
                             [](const response_handle& h) { return h.get().streaming(); })
      .def("next_chunk",
           [](response_handle& h) -> py::object {
             std::optional<std::string> piece = await_task(chunk_task(h.shared()));
             if (!piece) return py::none();
             return py::bytes(*piece);
           })
      .def("read_all", [](response_handle& h) { await_task(read_all_task(h.shared())); })
      .def("close", &response_handle::close);

  py::class_<session_handle>(m, "Session")
      .def(
          py::init([](std::string base_url, field_list headers, double timeout,
                      double connect_timeout, double idle_timeout, bool allow_redirects,
                      long max_redirects, bool verify, std::string ca_file, std::string ca_path,
                      std::string proxy, std::size_t max_response_bytes, bool decompress,
                      std::string user_agent, bool cookies) {
            return session_handle{std::make_shared<http::session>(session_options_from(
                std::move(base_url), std::move(headers), timeout, connect_timeout, idle_timeout,
                allow_redirects, max_redirects, verify, std::move(ca_file), std::move(ca_path),
                std::move(proxy), max_response_bytes, decompress, std::move(user_agent), cookies))};
          }),
          py::kw_only(), py::arg("base_url") = "", py::arg("headers") = field_list{},
          py::arg("timeout") = 0.0, py::arg("connect_timeout") = 10.0,
          py::arg("idle_timeout") = 60.0, py::arg("allow_redirects") = true,
          py::arg("max_redirects") = 30, py::arg("verify") = true, py::arg("ca_file") = "",
          py::arg("ca_path") = "", py::arg("proxy") = "",
          py::arg("max_response_bytes") = std::size_t{64} << 20, py::arg("decompress") = true,
          py::arg("user_agent") = "balrog-http/0.1", py::arg("cookies") = true)
      .def(
          "request",
          [](session_handle& h, std::string method, std::string url, field_list params,
             field_list headers, field_list cookies, std::optional<py::bytes> data,
             std::optional<field_list> form, std::optional<std::vector<part_tuple>> multipart,
             std::optional<double> timeout, std::optional<double> connect_timeout,
             std::optional<double> idle_timeout, std::optional<bool> allow_redirects,
             std::optional<long> max_redirects, std::optional<bool> verify, std::string ca_file,
             std::string ca_path, std::string cert_file, std::string key_file,
             std::optional<std::string> proxy, bool stream) {
            request_args a{std::move(params),
                           std::move(headers),
                           std::move(cookies),
                           std::move(data),
                           std::move(form),
                           std::move(multipart),
                           timeout,
                           connect_timeout,
                           idle_timeout,
                           allow_redirects,
                           max_redirects,
                           verify,
                           std::move(ca_file),
                           std::move(ca_path),
                           std::move(cert_file),
                           std::move(key_file),
                           std::move(proxy),
                           stream};
            http::request_options o = std::move(a).options();
            return std::make_unique<response_handle>(
                await_task(request_task(h.s, std::move(method), std::move(url), std::move(o))));
          },
          py::arg("method"), py::arg("url"), py::kw_only(), py::arg("params") = field_list{},
          py::arg("headers") = field_list{}, py::arg("cookies") = field_list{},
          py::arg("data") = py::none(), py::arg("form") = py::none(),
          py::arg("multipart") = py::none(), py::arg("timeout") = py::none(),
          py::arg("connect_timeout") = py::none(), py::arg("idle_timeout") = py::none(),
          py::arg("allow_redirects") = py::none(), py::arg("max_redirects") = py::none(),
          py::arg("verify") = py::none(), py::arg("ca_file") = "", py::arg("ca_path") = "",
          py::arg("cert_file") = "", py::arg("key_file") = "", py::arg("proxy") = py::none(),
          py::arg("stream") = false)
      .def("cookies",
           [](const session_handle& h) {
             py::list out;
             for (const http::cookie& c : h.s->cookies()) {
               out.append(py::make_tuple(c.name, c.value, c.domain, c.path, c.secure,
                                         seconds_since_epoch(c.expires)));
             }
             return out;
           })
      .def(
          "set_cookie",
          [](session_handle& h, std::string name, std::string value, std::string domain,
             std::string path, bool secure) {
            http::cookie c;
            c.name = std::move(name);
            c.value = std::move(value);
            c.domain = std::move(domain);
            c.path = std::move(path);
            c.secure = secure;
            h.s->set_cookie(c);
          },
          py::arg("name"), py::arg("value"), py::arg("domain"), py::arg("path") = "/",
          py::arg("secure") = false)
      .def("clear_cookies", [](session_handle& h) { h.s->clear_cookies(); });

  py::class_<websocket_handle>(m, "WebSocket")
      .def_static(
          "connect",
          [](std::string url, field_list headers, std::string subprotocol,
             std::size_t max_message_bytes, double ping_interval, double idle_timeout,
             double handshake_timeout, double close_timeout, bool permessage_deflate) {
            ws::options o;
            o.subprotocol = std::move(subprotocol);
            o.max_message_bytes = max_message_bytes;
            o.ping_interval = to_ms(ping_interval);
            o.idle_timeout = to_ms(idle_timeout);
            o.handshake_timeout = to_ms(handshake_timeout);
            o.close_timeout = to_ms(close_timeout);
            o.permessage_deflate = permessage_deflate;
            auto c = await_fiber([url = std::move(url), headers = std::move(headers), o] {
              boost::beast::http::fields f;
              for (const auto& [name, value] : headers) f.insert(name, value);
              return std::make_shared<ws::connection>(ws::connect(url, o, f));
            });
            return std::make_unique<websocket_handle>(std::move(c));
          },
          py::arg("url"), py::kw_only(), py::arg("headers") = field_list{},
          py::arg("subprotocol") = "", py::arg("max_message_bytes") = std::size_t{1} << 20,
          py::arg("ping_interval") = 20.0, py::arg("idle_timeout") = 60.0,
          py::arg("handshake_timeout") = 10.0, py::arg("close_timeout") = 5.0,
          py::arg("permessage_deflate") = false)
      .def(
          "receive",
          [](websocket_handle& h, std::optional<double> timeout) -> py::object {
            deadline until = deadline::never();
            if (timeout) until = std::chrono::duration<double>(std::max(0.0, *timeout));
            std::optional<ws::message> msg =
                await_fiber([c = h.shared(), until] { return c->receive(until); });
            if (!msg) return py::none();
            if (msg->binary) return py::bytes(msg->data);
            PyObject* text = PyUnicode_DecodeUTF8(
                msg->data.data(), static_cast<Py_ssize_t>(msg->data.size()), nullptr);
            if (text == nullptr) throw py::error_already_set();
            return py::reinterpret_steal<py::object>(text);
          },
          py::arg("timeout") = py::none())
      .def("send_text",
           [](websocket_handle& h, std::string text) {
             await_fiber([c = h.shared(), text = std::move(text)] {
               c->send(text);
               return true;
             });
           })
      .def("send_binary",
           [](websocket_handle& h, py::bytes data) {
             await_fiber([c = h.shared(), d = std::string(data)] {
               c->send_binary(std::string_view(d));
               return true;
             });
           })
      .def("ping",
           [](websocket_handle& h, py::bytes payload) {
             await_fiber([c = h.shared(), p = std::string(payload)] {
               c->ping(p);
               return true;
             });
           })
      .def(
          "close",
          [](websocket_handle& h, std::uint16_t code, std::string reason) {
            await_fiber([c = h.shared(), code, reason = std::move(reason)] {
              c->close(code, reason);
              return true;
            });
          },
          py::arg("code") = ws::close_codes::normal, py::arg("reason") = "")
      .def_property_readonly("open", [](const websocket_handle& h) { return h.get().is_open(); })
      .def_property_readonly("peer_close",
                             [](const websocket_handle& h) -> py::object {
                               std::optional<ws::close_reason> r = h.get().peer_close();
                               if (!r) return py::none();
                               return py::make_tuple(r->code, r->reason);
                             })
      .def_property_readonly("subprotocol",
                             [](const websocket_handle& h) { return h.get().subprotocol(); });
}

}  // namespace balrog::python
