// The free request functions: one-off requests with the default settings and no cookie jar.
#include "balrog/http/client.hpp"

#include <utility>

#include "request/perform.hpp"

namespace balrog::http {

task<response> request(std::string method, std::string url) {
  return detail::perform(nullptr, std::move(method), std::move(url), request_options());
}
task<response> request(std::string method, std::string url, request_options options) {
  return detail::perform(nullptr, std::move(method), std::move(url), std::move(options));
}
task<response> get(std::string url) { return request("GET", std::move(url)); }
task<response> get(std::string url, request_options options) {
  return request("GET", std::move(url), std::move(options));
}
task<response> head(std::string url) { return request("HEAD", std::move(url)); }
task<response> head(std::string url, request_options options) {
  return request("HEAD", std::move(url), std::move(options));
}
task<response> post(std::string url) { return request("POST", std::move(url)); }
task<response> post(std::string url, request_options options) {
  return request("POST", std::move(url), std::move(options));
}
task<response> put(std::string url) { return request("PUT", std::move(url)); }
task<response> put(std::string url, request_options options) {
  return request("PUT", std::move(url), std::move(options));
}
task<response> patch(std::string url) { return request("PATCH", std::move(url)); }
task<response> patch(std::string url, request_options options) {
  return request("PATCH", std::move(url), std::move(options));
}
task<response> delete_(std::string url) { return request("DELETE", std::move(url)); }
task<response> delete_(std::string url, request_options options) {
  return request("DELETE", std::move(url), std::move(options));
}

}  // namespace balrog::http
