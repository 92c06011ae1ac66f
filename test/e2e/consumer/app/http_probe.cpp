// http_probe: a consumer of the installed balrog::http. It needs no server: a request to a
// closed loopback port must end in the client's typed error (and the program must link
// libcurl and Boost.JSON through the package's dependencies); the libcurl compat face must
// return libcurl's code for the same request.
#include <curl/curl.h>
#include <balrog/http/client.hpp>
#include <balrog/http/compat/libcurl.hpp>
#include <balrog/http/generated/client_blocking.hpp>
#include <balrog/run.hpp>

#include <cstdio>

int main() {
  return balrog::run([] {
    try {
      balrog::http::blocking::get("http://127.0.0.1:1/", {.json = {{"probe", true}}});
      std::printf("http_probe: port 1 answered, which nothing should listen on\n");
      return 1;
    } catch (const balrog::http::connection_error& e) {
      std::printf("http_probe: refused, as expected: %s\n", e.what());
    }
    CURL* h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:1/");
    const CURLcode code = balrog::compat::curl_easy_perform(h);
    curl_easy_cleanup(h);
    std::printf("http_probe: compat curl_easy_perform: %s\n", curl_easy_strerror(code));
    return code == CURLE_COULDNT_CONNECT ? 0 : 1;
  });
}
