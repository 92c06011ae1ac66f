#include "request/configure.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

#include "balrog/errors.hpp"
#include "balrog/http/error.hpp"
#include "curl/handles.hpp"
#include "request/header_names.hpp"

namespace balrog::http::detail {

namespace {

constexpr const char* who = "balrog::http";

// Every setopt of this file goes through here: an option libcurl refuses is a bug or a build
// without the feature, reported rather than ignored.
template <class V>
void set(CURL* e, CURLoption option, V value, const char* name) {
  const CURLcode code = curl_easy_setopt(e, option, value);
  if (code != CURLE_OK) {
    throw invalid_request(std::string(who) + ": " + name + ": " + curl_easy_strerror(code),
                          static_cast<int>(code), "");
  }
}
#define BALROG_SET(easy, option, value) set(easy, option, value, #option)

bool is_token_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void check_method(const std::string& method) {
  if (method.empty()) throw usage_error(std::string(who) + ": empty request method");
  for (char c : method) {
    if (!is_token_char(c)) {
      throw usage_error(std::string(who) + ": invalid request method \"" + method + "\"");
    }
  }
}

void check_header(const std::string& name, const std::string& value) {
  bool ok = !name.empty();
  for (char c : name) ok = ok && is_token_char(c);
  for (char c : value) ok = ok && c != '\r' && c != '\n' && c != '\0';
  if (!ok) {
    throw usage_error(std::string(who) + ": invalid header \"" + name +
                      "\" (a name must be a token; a value must not break the line)");
  }
}

[[noreturn]] void bad_url(const std::string& method, const std::string& url, CURLUcode code) {
  throw invalid_request(
      std::string(who) + ": " + method + " " + url + ": " + curl_url_strerror(code),
      CURLE_URL_MALFORMAT, url);
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && equal_names(s.substr(0, prefix.size()), prefix);
}

// A URL whose scheme is http or https, with nothing to add to it, and that libcurl may take as
// it is: no line breaks or spaces (libcurl's own parser, which runs anyway, checks the rest).
bool plain_http_url(const std::string& url) noexcept {
  return (starts_with_nocase(url, "http://") || starts_with_nocase(url, "https://")) &&
         url.find_first_of(" \t\r\n") == std::string::npos;
}

// base_url + url (RFC 3986 resolution) + params, URL-encoded.
std::string build_url(const std::string& base, const std::string& url, const fields& params,
                      const std::string& method) {
  if (base.empty() && params.empty() && plain_http_url(url)) return url;  // the common case
  url_ptr u(curl_url());
  if (!u) throw std::bad_alloc();
  if (!base.empty()) {
    if (const CURLUcode c = curl_url_set(u.get(), CURLUPART_URL, base.c_str(), 0)) {
      bad_url(method, base, c);
    }
  }
  // With a base in the handle, a relative URL is resolved against it.
  if (const CURLUcode c = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0)) {
    bad_url(method, url, c);
  }
  for (const auto& [name, value] : params) {
    const std::string pair = name + "=" + value;
    // URLENCODE encodes both sides of the first '=' (spaces become '+').
    if (const CURLUcode c = curl_url_set(u.get(), CURLUPART_QUERY, pair.c_str(),
                                         CURLU_APPENDQUERY | CURLU_URLENCODE)) {
      bad_url(method, url, c);
    }
  }
  char* scheme = nullptr;
  if (const CURLUcode c = curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0)) {
    bad_url(method, url, c);
  }
  const curl_string owned_scheme(scheme);
  if (std::string_view(scheme) != "http" && std::string_view(scheme) != "https") {
    throw invalid_request(std::string(who) + ": " + method + " " + url + ": the scheme \"" +
                              scheme + "\" is not http or https",
                          CURLE_UNSUPPORTED_PROTOCOL, url);
  }
  char* out = nullptr;
  if (const CURLUcode c = curl_url_get(u.get(), CURLUPART_URL, &out, 0)) bad_url(method, url, c);
  const curl_string owned(out);
  return out;
}

std::string escape(CURL* e, const std::string& s) {
  curl_string escaped(curl_easy_escape(e, s.data(), static_cast<int>(s.size())));
  if (!escaped) throw std::bad_alloc();
  return escaped.get();
}

std::string form_encode(CURL* e, const fields& form) {
  std::string out;
  for (const auto& [name, value] : form) {
    if (!out.empty()) out += '&';
    out += escape(e, name);
    out += '=';
    out += escape(e, value);
  }
  return out;
}

void append_header(slist_ptr& list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (grown == nullptr) throw std::bad_alloc();
  (void)list.release();  // curl_slist_append returns the same head once it exists
  list.reset(grown);
}

bool has_header(const fields& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (equal_names(h.first, name)) return true;
  }
  return false;
}

// Session headers, then the request's (a request header replaces the session's of the same
// name), then the defaults the body implies (`has_body`: Expect; `content_type`).
slist_ptr build_headers(const fields& session_headers, const fields& request_headers, bool has_body,
                        const char* content_type) {
  fields merged;
  for (const auto& h : session_headers) {
    if (!has_header(request_headers, h.first)) merged.push_back(h);
  }
  merged.insert(merged.end(), request_headers.begin(), request_headers.end());
  // libcurl sends "Expect: 100-continue" before large bodies and waits up to a second for
  // the interim answer; python-requests never does. A header given here wins.
  if (has_body && !has_header(merged, "expect")) merged.emplace_back("Expect", "");
  if (content_type != nullptr && !has_header(merged, "content-type")) {
    merged.emplace_back("Content-Type", content_type);
  }
  slist_ptr list;
  for (const auto& [name, value] : merged) {
    check_header(name, value);
    // "Name:" with nothing after removes a header libcurl would add.
    append_header(list, value.empty() ? name + ":" : name + ": " + value);
  }
  return list;
}

mime_ptr build_multipart(CURL* e, const std::vector<multipart_part>& parts) {
  mime_ptr mime(curl_mime_init(e));
  if (!mime) throw std::bad_alloc();
  for (const multipart_part& p : parts) {
    curl_mimepart* part = curl_mime_addpart(mime.get());
    if (part == nullptr) throw std::bad_alloc();
    curl_mime_name(part, p.name.c_str());
    if (!p.file.empty()) {
      if (::access(p.file.c_str(), R_OK) != 0) {
        throw_errno(std::string(who) + ": multipart file \"" + p.file + "\"");
      }
      curl_mime_filedata(part, p.file.c_str());  // filename: the base name
    } else {
      curl_mime_data(part, p.data.data(), p.data.size());
    }
    if (!p.filename.empty()) curl_mime_filename(part, p.filename.c_str());
    if (!p.content_type.empty()) curl_mime_type(part, p.content_type.c_str());
  }
  return mime;
}

long long whole_ms(std::chrono::milliseconds d) noexcept {
  return d.count() < 0 ? 0 : static_cast<long long>(d.count());
}

void configure_body(transfer& t, const session_options& s, request_options& r) {
  CURL* e = t.easy();
  request_resources& res = t.resources();
  const int bodies = static_cast<int>(r.data.has_value()) + static_cast<int>(r.json.has_value()) +
                     static_cast<int>(r.form.has_value()) + static_cast<int>(!r.multipart.empty()) +
                     static_cast<int>(!r.upload_file.empty());
  if (bodies > 1) {
    throw usage_error(std::string(who) +
                      ": set at most one of data, json, form, multipart and upload_file");
  }
  const char* content_type = nullptr;
  enum { none, fields_body, mime_body, file_body } kind = none;
  if (r.data) {
    res.body = std::move(*r.data);
    content_type = "application/octet-stream";
    kind = fields_body;
  } else if (r.json) {
    res.body = boost::json::serialize(*r.json);
    content_type = "application/json";
    kind = fields_body;
  } else if (r.form) {
    res.body = form_encode(e, *r.form);
    content_type = "application/x-www-form-urlencoded";
    kind = fields_body;
  } else if (!r.multipart.empty()) {
    res.mime = build_multipart(e, r.multipart);
    kind = mime_body;
  } else if (!r.upload_file.empty()) {
    res.upload = std::fopen(r.upload_file.c_str(), "rb");
    if (res.upload == nullptr) {
      throw_errno(std::string(who) + ": upload_file \"" + r.upload_file + "\"");
    }
    struct stat st {};
    if (::fstat(::fileno(res.upload), &st) != 0) {
      throw_errno(std::string(who) + ": upload_file \"" + r.upload_file + "\"");
    }
    content_type = "application/octet-stream";
    kind = file_body;
    BALROG_SET(e, CURLOPT_UPLOAD, 1L);
    BALROG_SET(e, CURLOPT_READDATA, res.upload);  // libcurl's default read function: fread
    BALROG_SET(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(st.st_size));
  }

  const std::string& m = res.method;
  // The verb libcurl uses by itself for this kind of body; anything else is a custom request
  // (kept across redirects, where a POST becomes a GET after 301-303).
  const char* natural = "GET";
  switch (kind) {
    case fields_body:
      BALROG_SET(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(res.body.size()));
      BALROG_SET(e, CURLOPT_POSTFIELDS, res.body.c_str());
      natural = "POST";
      break;
    case mime_body:
      BALROG_SET(e, CURLOPT_MIMEPOST, res.mime.get());
      natural = "POST";
      break;
    case file_body:
      natural = "PUT";
      break;
    case none:
      if (m == "HEAD") {
        BALROG_SET(e, CURLOPT_NOBODY, 1L);
        natural = "HEAD";
      } else if (m == "POST") {
        res.body.clear();
        BALROG_SET(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
        BALROG_SET(e, CURLOPT_POSTFIELDS, res.body.c_str());
        natural = "POST";
      }
      break;
  }
  if (m != natural) BALROG_SET(e, CURLOPT_CUSTOMREQUEST, m.c_str());

  if (kind != none) t.watch_uploads();
  res.headers = build_headers(s.headers, r.headers, kind != none, content_type);
  BALROG_SET(e, CURLOPT_HTTPHEADER, res.headers.get());
}

void configure_tls(CURL* e, const tls_options& tls) {
  BALROG_SET(e, CURLOPT_SSL_VERIFYPEER, tls.verify ? 1L : 0L);
  BALROG_SET(e, CURLOPT_SSL_VERIFYHOST, tls.verify ? 2L : 0L);
  if (!tls.ca_file.empty()) BALROG_SET(e, CURLOPT_CAINFO, tls.ca_file.c_str());
  if (!tls.ca_path.empty()) BALROG_SET(e, CURLOPT_CAPATH, tls.ca_path.c_str());
  if (!tls.client_certificate_file.empty()) {
    BALROG_SET(e, CURLOPT_SSLCERT, tls.client_certificate_file.c_str());
  }
  if (!tls.client_key_file.empty()) BALROG_SET(e, CURLOPT_SSLKEY, tls.client_key_file.c_str());
}

}  // namespace

body_plan plan_body(const session_options& s, const request_options& r) noexcept {
  if (r.stream || r.on_chunk || r.body_channel != nullptr) {
    return {transfer::body_mode::stream, 0};
  }
  return {transfer::body_mode::keep, r.max_response_bytes.value_or(s.max_response_bytes)};
}

void configure(transfer& t, const session_options& s, CURLSH* share, std::string method,
               std::string url, request_options& r) {
  CURL* e = t.easy();
  request_resources& res = t.resources();
  check_method(method);
  res.method = std::move(method);
  res.url = build_url(s.base_url, url, r.params, res.method);
  BALROG_SET(e, CURLOPT_URL, res.url.c_str());
  // Only HTTP(S), also after redirects: a URL must not reach file:// or other schemes.
  BALROG_SET(e, CURLOPT_PROTOCOLS_STR, "http,https");
  BALROG_SET(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  BALROG_SET(e, CURLOPT_NOSIGNAL, 1L);
  BALROG_SET(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);  // a proxy's CONNECT answer is not ours
  BALROG_SET(e, CURLOPT_PIPEWAIT, 1L);  // wait for an HTTP/2 connection rather than open more

  BALROG_SET(e, CURLOPT_TIMEOUT_MS, static_cast<long>(whole_ms(r.timeout.value_or(s.timeout))));
  BALROG_SET(e, CURLOPT_CONNECTTIMEOUT_MS,
             static_cast<long>(whole_ms(r.connect_timeout.value_or(s.connect_timeout))));
  t.set_idle_timeout(r.idle_timeout.value_or(s.idle_timeout));  // watched by the transfer

  const bool follow = r.allow_redirects.value_or(s.allow_redirects);
  const long max_redirects = r.max_redirects.value_or(s.max_redirects);
  BALROG_SET(e, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
  BALROG_SET(e, CURLOPT_MAXREDIRS, max_redirects);
  t.set_redirects(follow, max_redirects);

  const std::string& proxy = r.proxy ? *r.proxy : s.proxy;
  if (proxy == "-") {
    BALROG_SET(e, CURLOPT_PROXY, "");  // no proxy, whatever the environment says
  } else if (!proxy.empty()) {
    BALROG_SET(e, CURLOPT_PROXY, proxy.c_str());  // libcurl copies option strings
  }
  configure_tls(e, r.tls ? *r.tls : s.tls);

  switch (r.version.value_or(s.version)) {
    case http_version::automatic:
      BALROG_SET(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
      break;
    case http_version::http1_1:
      BALROG_SET(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
      break;
    case http_version::http2_prior_knowledge:
      BALROG_SET(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
      break;
  }
  if (s.decompress) BALROG_SET(e, CURLOPT_ACCEPT_ENCODING, "");  // "": all libcurl supports
  if (!s.user_agent.empty()) BALROG_SET(e, CURLOPT_USERAGENT, s.user_agent.c_str());

  BALROG_SET(e, CURLOPT_SHARE, share);
  if (share != nullptr && s.cookies) {
    res.cookie_engine = true;
    BALROG_SET(e, CURLOPT_COOKIEFILE, "");  // "": the cookie engine, no file
  }
  if (!r.cookies.empty()) {
    std::string cookie;
    for (const auto& [name, value] : r.cookies) {
      check_header(name, value);
      if (!cookie.empty()) cookie += "; ";
      cookie += name + "=" + value;
    }
    BALROG_SET(e, CURLOPT_COOKIE, cookie.c_str());
  }
  if (r.basic_auth) {
    BALROG_SET(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    BALROG_SET(e, CURLOPT_USERNAME, r.basic_auth->first.c_str());
    BALROG_SET(e, CURLOPT_PASSWORD, r.basic_auth->second.c_str());
  }
  const body_plan plan = plan_body(s, r);
  if (plan.mode == transfer::body_mode::keep && plan.max_bytes != 0) {
    // Fails before the body when the server announces a larger one (the write callback
    // catches the rest).
    BALROG_SET(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(plan.max_bytes));
  }
  configure_body(t, s, r);
}

}  // namespace balrog::http::detail
