#include "request/errors.hpp"

#include <new>
#include <string>

#include "balrog/http/error.hpp"

namespace balrog::http::detail {

namespace {

enum class kind { invalid, connection, tls, timeout, redirects, too_large, other };

kind classify(CURLcode code, long status) noexcept {
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
      // The request's own scheme was checked before it started: either a redirect led to
      // another scheme (a response came), or the server's reply is not HTTP at all.
      return status > 0 ? kind::invalid : kind::connection;
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_READ_ERROR:  // an upload file that cannot be read
      return kind::invalid;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_PROXY:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_UPLOAD_FAILED:
    case CURLE_SEND_FAIL_REWIND:
    case CURLE_RANGE_ERROR:
      return kind::connection;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return kind::tls;
    case CURLE_OPERATION_TIMEDOUT:
      return kind::timeout;
    case CURLE_TOO_MANY_REDIRECTS:
      return kind::redirects;
    case CURLE_FILESIZE_EXCEEDED:
      return kind::too_large;
    default:
      return kind::other;
  }
}

}  // namespace

void throw_if_failed(const transfer& t) {
  const CURLcode code = t.result();
  if (code == CURLE_OK) return;
  if (code == CURLE_OUT_OF_MEMORY) throw std::bad_alloc();
  const request_resources& res = t.resources();
  std::string what = "balrog::http: " + res.method + " " + res.url + ": ";
  long status = 0;
  curl_easy_getinfo(t.easy(), CURLINFO_RESPONSE_CODE, &status);
  const kind k = t.too_large() ? kind::too_large : classify(code, status);
  if (k == kind::too_large) {
    what += "the response body is larger than max_response_bytes";
  } else {
    what += curl_easy_strerror(code);
    const std::string_view detail = t.error_detail();
    if (!detail.empty()) {
      what += " (";
      what += detail;
      what += ")";
    }
  }
  const int c = static_cast<int>(code);
  switch (k) {
    case kind::invalid:
      throw invalid_request(what, c, res.url);
    case kind::connection:
      throw connection_error(what, c, res.url);
    case kind::tls:
      throw tls_error(what, c, res.url);
    case kind::timeout:
      // Before any connection was up: libcurl's connect phase (its message for that varies:
      // "Failed to connect ... after N ms", "Connection timeout after N ms", "Resolving timed
      // out ..."). An idle timeout is the caller's read timeout, even while connecting.
      if (!t.idle_expired() && !t.ever_connected()) throw connect_timeout(what, c, res.url);
      throw timeout(what, c, res.url);
    case kind::redirects:
      throw too_many_redirects(what, c, res.url);
    case kind::too_large:
      throw body_too_large(what, c, res.url);
    case kind::other:
      break;
  }
  throw request_error(what, c, res.url);
}

}  // namespace balrog::http::detail
