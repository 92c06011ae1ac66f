// place_orders: the food-delivery order view (../delivery/views.py, place_order) as a plain
// synchronous C++ program.
//
//   place_orders CONNINFO KITCHEN_URL WS_URL [ORDERS]
//   place_orders "host=/tmp/pg dbname=postgres" http://127.0.0.1:8001/orders
//                ws://127.0.0.1:8002/ws 50         (one command line)
//
// Each order, on a std::thread of its own: save it (libpq, INSERT ... RETURNING id), POST it to
// the kitchen (libcurl), match on the answer (201 {"mins": N}), record the answer, send "Order #N
// will be delivered in M minutes." over a WebSocket to WS_URL?customer=KEY (POSIX sockets,
// websocket_client.cpp), and answer JSON, as the Django view does. Every answer is printed, one
// line each, "STATUS JSON", in order id order, then a summary line.
//
// Nothing here knows about balrog: place_orders_sync compiles it as it is, and
// place_orders_balrog as balrog-gen rewrote it at build time (CMakeLists.txt, README.md),
// main() included: its run-main pass runs main() on balrog::run_main, so each order's thread
// is a fiber.
#include <curl/curl.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "websocket_client.hpp"

namespace json = boost::json;

namespace {

struct settings {
  std::string conninfo;
  std::string kitchen_url;
  std::string ws_host;
  std::string ws_port;
  std::string ws_path;
  long kitchen_timeout_ms = 10'000;
};

struct order_form {
  std::string customer;
  std::string dish;
  int quantity = 1;
  std::string address;
};

// What the view answers: an HTTP status and a JSON body.
struct response {
  long order = 0;
  int status = 0;
  json::object body;
};

// Every order's answer, and how the program ran; under `mutex`.
struct results {
  std::mutex mutex;
  std::vector<response> responses;
  int undelivered = 0;      // WebSocket messages that could not be sent
  std::set<pid_t> threads;  // the OS threads the orders ran on (gettid)
};

constexpr const char* schema =
    "create table if not exists orders ("
    " id bigserial primary key,"
    " customer text not null,"
    " dish text not null,"
    " quantity int not null,"
    " address text not null default '',"
    " status text not null default 'placed',"
    " mins int,"
    " kitchen_answer jsonb,"
    " created_at timestamptz not null default now())";

// One statement with text parameters; the result, or nullptr (the error is in *error).
PGresult* execute(PGconn* db, const char* sql, const std::vector<std::string>& params,
                  ExecStatusType expected, std::string* error) {
  std::vector<const char*> values;
  for (const std::string& p : params) values.push_back(p.c_str());
  PGresult* r = PQexecParams(db, sql, static_cast<int>(values.size()), nullptr, values.data(),
                             nullptr, nullptr, 0);
  if (PQresultStatus(r) != expected) {
    *error = PQerrorMessage(db);
    PQclear(r);
    return nullptr;
  }
  return r;
}

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// requests.post(KITCHEN_URL, json=order): the status (0: no answer), the body, libcurl's error.
long post_json(const std::string& url, const std::string& body, long timeout_ms,
               std::string& answer, std::string& error) {
  CURL* curl = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  long status = 0;
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  } else {
    error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return status;
}

// The kitchen did not take the order: the order says so, and the customer gets a 502.
response kitchen_error(PGconn* db, long id, long status, const json::value& answer) {
  std::string error;
  PQclear(execute(db,
                  "update orders set status = 'kitchen_error', kitchen_answer = $2 where id = $1",
                  {std::to_string(id), json::serialize(answer)}, PGRES_COMMAND_OK, &error));
  json::value kitchen_status = nullptr;
  if (status != 0) kitchen_status = status;
  return {id, 502,
          json::object{{"order", id},
                       {"error", "the kitchen did not take the order"},
                       {"kitchen_status", kitchen_status},
                       {"kitchen_answer", answer}}};
}

// The view: save the order, tell the kitchen, match on its answer, tell the customer.
response place_order(const settings& s, const order_form& form, results& out) {
  PGconn* db = PQconnectdb(s.conninfo.c_str());
  if (PQstatus(db) != CONNECTION_OK) {
    response r{0, 503, json::object{{"error", PQerrorMessage(db)}}};
    PQfinish(db);
    return r;
  }
  // Order.objects.create(...)
  std::string error;
  PGresult* saved = execute(db,
                            "insert into orders (customer, dish, quantity, address) "
                            "values ($1, $2, $3, $4) returning id, created_at",
                            {form.customer, form.dish, std::to_string(form.quantity), form.address},
                            PGRES_TUPLES_OK, &error);
  if (saved == nullptr) {
    PQfinish(db);
    return {0, 500, json::object{{"error", error}}};
  }
  const long id = std::atol(PQgetvalue(saved, 0, 0));
  const std::string placed_at = PQgetvalue(saved, 0, 1);
  PQclear(saved);

  // prepare_order(order), then requests.post(...)
  const json::object order{{"order", id},
                           {"dish", form.dish},
                           {"quantity", form.quantity},
                           {"address", form.address},
                           {"placed_at", placed_at}};
  std::string body;
  const long status =
      post_json(s.kitchen_url, json::serialize(order), s.kitchen_timeout_ms, body, error);
  if (status == 0) {
    response r = kitchen_error(db, id, 0, json::value(error));
    PQfinish(db);
    return r;
  }

  // match r.status_code, r.json(): case 201, {"mins": int(mins)}
  boost::system::error_code parse_error;
  json::value answer = json::parse(body, parse_error);
  if (parse_error) answer = nullptr;
  const json::value* mins = answer.is_object() ? answer.as_object().if_contains("mins") : nullptr;
  if (status != 201 || mins == nullptr || !mins->is_int64()) {
    response r = kitchen_error(db, id, status, answer);
    PQfinish(db);
    return r;
  }
  const std::int64_t minutes = mins->as_int64();
  if (execute(db,
              "update orders set status = 'accepted', mins = $2, kitchen_answer = $3 where id = $1",
              {std::to_string(id), std::to_string(minutes), json::serialize(answer)},
              PGRES_COMMAND_OK, &error) == nullptr) {
    PQfinish(db);
    return {id, 500, json::object{{"order", id}, {"error", error}}};
  }
  PQfinish(db);

  // get_ws_connection(request).send(...)
  const std::string message = "Order #" + std::to_string(id) + " will be delivered in " +
                              std::to_string(minutes) + " minutes.";
  error = websocket_send(s.ws_host, s.ws_port, s.ws_path + "?customer=" + form.customer, message);
  if (!error.empty()) {
    std::fprintf(stderr, "place_orders: order %ld: WebSocket: %s\n", id, error.c_str());
    std::lock_guard<std::mutex> lock(out.mutex);
    ++out.undelivered;
  }
  return {id, 201, json::object{{"order", id}, {"mins", minutes}}};
}

// "ws://host:port/path" into its parts.
bool parse_ws_url(const std::string& url, settings& s) {
  const std::string scheme = "ws://";
  if (url.compare(0, scheme.size(), scheme) != 0) return false;
  const std::size_t slash = url.find('/', scheme.size());
  const std::string authority = url.substr(scheme.size(), slash - scheme.size());
  const std::size_t colon = authority.rfind(':');
  s.ws_host = authority.substr(0, colon);
  s.ws_port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  s.ws_path = slash == std::string::npos ? "/" : url.substr(slash);
  return !s.ws_host.empty();
}

int place_orders(const settings& s, int count) {
  {
    PGconn* db = PQconnectdb(s.conninfo.c_str());
    std::string error;
    PGresult* r =
        PQstatus(db) == CONNECTION_OK ? execute(db, schema, {}, PGRES_COMMAND_OK, &error) : nullptr;
    if (r == nullptr) {
      std::fprintf(stderr, "place_orders: cannot create the orders table: %s", PQerrorMessage(db));
      PQfinish(db);
      return 1;
    }
    PQclear(r);
    PQfinish(db);
  }

  results out;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    threads.emplace_back([&s, &out, i] {
      const order_form form{"customer-" + std::to_string(i), i % 2 == 0 ? "pizza" : "ramen",
                            1 + i % 3, std::to_string(i) + " Main Street"};
      response r = place_order(s, form, out);
      std::lock_guard<std::mutex> lock(out.mutex);
      out.responses.push_back(std::move(r));
      out.threads.insert(::gettid());
    });
  }
  // `auto&`, not `std::thread&`: balrog-gen does not rewrite the type of a range-for variable
  // (README.md, "What balrog-gen could not do").
  for (auto& t : threads) t.join();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;

  // Every thread has returned: `out` is ours alone.
  std::sort(out.responses.begin(), out.responses.end(),
            [](const response& a, const response& b) { return a.order < b.order; });
  int accepted = 0;
  for (const response& r : out.responses) {
    std::printf("%d %s\n", r.status, json::serialize(r.body).c_str());
    if (r.status == 201) ++accepted;
  }
  std::printf(
      "place_orders: %d orders, %d accepted, %d not, %d WebSocket messages not sent; "
      "%.3f s; the orders ran on %zu OS thread(s)\n",
      count, accepted, count - accepted, out.undelivered, elapsed.count(), out.threads.size());
  return accepted == count && out.undelivered == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  if (argc < 4 || argc > 5 || !parse_ws_url(argv[3], s)) {
    std::fprintf(stderr, "usage: %s CONNINFO KITCHEN_URL ws://HOST:PORT/PATH [ORDERS]\n", argv[0]);
    return 2;
  }
  s.conninfo = argv[1];
  s.kitchen_url = argv[2];
  const int count = argc > 4 ? std::atoi(argv[4]) : 10;
  if (count < 1) return 2;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const int status = place_orders(s, count);
  curl_global_cleanup();
  return status;
}
