// bench/gen input, "heavy": a report job that mixes C++20 <ranges>, Boost (Asio's io_context
// and steady_timer, Boost.StringAlgo) and libpq, with blocking calls of each kind balrog-gen
// rewrites (recv/send, sleep_for, std::mutex). Nearly all of the time goes into parsing the
// headers (about 205,000 lines after preprocessing with libstdc++ 12 and Boost 1.81).
#include <libpq-fe.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/algorithm/string.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <mutex>
#include <ranges>
#include <string>
#include <thread>
#include <vector>

namespace bench_gen {

struct row {
  std::string name;
  long value = 0;
};

std::vector<row> fetch_rows(PGconn* conn, std::mutex& m) {
  std::lock_guard<std::mutex> lock(m);
  std::vector<row> rows;
  PGresult* res = PQexec(conn, "SELECT name, value FROM report");
  if (PQresultStatus(res) == PGRES_TUPLES_OK) {
    for (int i = 0; i < PQntuples(res); ++i) {
      rows.push_back({PQgetvalue(res, i, 0), std::stol(PQgetvalue(res, i, 1))});
    }
  }
  PQclear(res);
  return rows;
}

std::string render(const std::vector<row>& rows) {
  auto big =
      rows | std::views::filter([](const row& r) { return r.value > 10; }) |
      std::views::transform([](const row& r) { return boost::algorithm::to_upper_copy(r.name); }) |
      std::views::take(20);
  std::string body = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
  for (const std::string& name : big) body += name + "\n";
  boost::algorithm::trim_right(body);
  return body;
}

int serve_report(int client_fd, PGconn* conn) {
  std::mutex m;
  char request[1024];
  const ssize_t n = recv(client_fd, request, sizeof request, 0);
  if (n <= 0) return 1;
  const std::string out = render(fetch_rows(conn, m));
  if (send(client_fd, out.data(), out.size(), 0) < 0) return 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  boost::asio::io_context io;
  boost::asio::steady_timer t(io, std::chrono::milliseconds(0));
  t.wait();
  return 0;
}

}  // namespace bench_gen
