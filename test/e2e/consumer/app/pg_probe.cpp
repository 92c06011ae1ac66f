// pg_probe: a consumer of the installed balrog::pg. It needs no server: connecting to a closed
// loopback port must end in the driver's typed error (and the program must link libpq through
// the package's dependencies).
#include <balrog/await.hpp>
#include <balrog/pg/connection.hpp>
#include <balrog/pg/error.hpp>
#include <balrog/run.hpp>

#include <cstdio>

int main() {
  return balrog::run([] {
    try {
      balrog::await(balrog::pg::connection::connect("host=127.0.0.1 port=1 connect_timeout=10"));
    } catch (const balrog::pg::connection_error& e) {
      std::printf("pg_probe: refused, as expected: %s\n", e.what());
      return 0;
    }
    std::printf("pg_probe: connected to port 1, which nothing should listen on\n");
    return 1;
  });
}
