#include "balrog/http/session.hpp"

#include <curl/curl.h>

#include <charconv>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "balrog/http/error.hpp"
#include "curl/handles.hpp"
#include "request/perform.hpp"
#include "request/session_state.hpp"

namespace balrog::http {

namespace {

// An easy handle attached to the session's share, for the cookie calls; detached when done
// (the share cannot be freed while a handle uses it).
class jar_handle {
 public:
  explicit jar_handle(CURLSH* share) : easy_(curl_easy_init()) {
    if (!easy_) throw std::bad_alloc();
    curl_easy_setopt(easy_.get(), CURLOPT_SHARE, share);
    curl_easy_setopt(easy_.get(), CURLOPT_COOKIEFILE, "");  // the cookie engine
  }
  jar_handle(const jar_handle&) = delete;
  jar_handle& operator=(const jar_handle&) = delete;
  ~jar_handle() { curl_easy_setopt(easy_.get(), CURLOPT_SHARE, nullptr); }
  CURL* get() const noexcept { return easy_.get(); }

 private:
  detail::easy_ptr easy_;
};

void cookie_command(CURLSH* share, const std::string& command) {
  jar_handle h(share);
  const CURLcode code = curl_easy_setopt(h.get(), CURLOPT_COOKIELIST, command.c_str());
  if (code != CURLE_OK) {
    throw request_error(
        std::string("balrog::http::session: cookie jar: ") + curl_easy_strerror(code),
        static_cast<int>(code), "");
  }
}

// One line of libcurl's cookie list (Netscape format: domain, subdomains, path, secure,
// expiry, name, value; separated by tabs; "#HttpOnly_" may prefix the domain).
cookie parse_cookie_line(std::string_view line) {
  cookie c;
  std::string_view fields[7];
  for (int i = 0; i < 6; ++i) {
    const std::size_t tab = line.find('\t');
    fields[i] = line.substr(0, tab);
    line = tab == std::string_view::npos ? std::string_view() : line.substr(tab + 1);
  }
  fields[6] = line;
  std::string_view domain = fields[0];
  if (domain.starts_with("#HttpOnly_")) domain.remove_prefix(10);
  c.domain = domain;
  c.include_subdomains = fields[1] == "TRUE";
  c.path = fields[2];
  c.secure = fields[3] == "TRUE";
  long long expiry = 0;
  std::from_chars(fields[4].data(), fields[4].data() + fields[4].size(), expiry);
  c.expires = std::chrono::system_clock::time_point(std::chrono::seconds(expiry));
  c.name = fields[5];
  c.value = fields[6];
  return c;
}

}  // namespace

session::session(session_options options)
    : state_(std::make_shared<detail::session_state>(std::move(options))) {}
session::session(session&&) noexcept = default;
session& session::operator=(session&&) noexcept = default;
session::~session() = default;

session_options& session::options() noexcept { return state_->options; }
const session_options& session::options() const noexcept { return state_->options; }

task<response> session::request(std::string method, std::string url) {
  return detail::perform(state_, std::move(method), std::move(url), request_options());
}
task<response> session::request(std::string method, std::string url, request_options options) {
  return detail::perform(state_, std::move(method), std::move(url), std::move(options));
}
task<response> session::get(std::string url) { return request("GET", std::move(url)); }
task<response> session::get(std::string url, request_options options) {
  return request("GET", std::move(url), std::move(options));
}
task<response> session::head(std::string url) { return request("HEAD", std::move(url)); }
task<response> session::head(std::string url, request_options options) {
  return request("HEAD", std::move(url), std::move(options));
}
task<response> session::post(std::string url) { return request("POST", std::move(url)); }
task<response> session::post(std::string url, request_options options) {
  return request("POST", std::move(url), std::move(options));
}
task<response> session::put(std::string url) { return request("PUT", std::move(url)); }
task<response> session::put(std::string url, request_options options) {
  return request("PUT", std::move(url), std::move(options));
}
task<response> session::patch(std::string url) { return request("PATCH", std::move(url)); }
task<response> session::patch(std::string url, request_options options) {
  return request("PATCH", std::move(url), std::move(options));
}
task<response> session::delete_(std::string url) { return request("DELETE", std::move(url)); }
task<response> session::delete_(std::string url, request_options options) {
  return request("DELETE", std::move(url), std::move(options));
}

std::vector<cookie> session::cookies() const {
  jar_handle h(state_->share);
  curl_slist* list = nullptr;
  curl_easy_getinfo(h.get(), CURLINFO_COOKIELIST, &list);
  const detail::slist_ptr owned(list);
  std::vector<cookie> out;
  for (curl_slist* l = list; l != nullptr; l = l->next) out.push_back(parse_cookie_line(l->data));
  return out;
}

void session::set_cookie(const cookie& c) {
  for (const std::string* s : {&c.domain, &c.path, &c.name, &c.value}) {
    if (s->find_first_of("\t\r\n") != std::string::npos) {
      throw usage_error("balrog::http::session::set_cookie: a tab or line break in a field");
    }
  }
  const auto expiry =
      std::chrono::duration_cast<std::chrono::seconds>(c.expires.time_since_epoch()).count();
  // A Netscape cookie-file line; a leading dot makes libcurl match subdomains too.
  std::string line = (c.include_subdomains && !c.domain.starts_with(".") ? "." : "") + c.domain;
  line += c.include_subdomains ? "\tTRUE\t" : "\tFALSE\t";
  line += (c.path.empty() ? "/" : c.path) + (c.secure ? "\tTRUE\t" : "\tFALSE\t");
  line += std::to_string(expiry) + "\t" + c.name + "\t" + c.value;
  cookie_command(state_->share, line);
}

void session::clear_cookies() { cookie_command(state_->share, "ALL"); }

}  // namespace balrog::http
