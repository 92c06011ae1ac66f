#include <ctime>
#include <memory>
#include <mutex>
#include <ostream>

#include "balrog/http/server/middleware.hpp"
#include "balrog/sync/mutex.hpp"

namespace balrog::http::server {

namespace {

// "[10/Oct/2000:13:55:36 +0000]", formatted once per second per thread.
std::string_view log_time_now() {
  thread_local std::time_t cached_second = -1;
  thread_local char cached[32] = {};
  thread_local std::size_t length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    length = std::strftime(cached, sizeof cached, "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
    cached_second = now;
  }
  return {cached, length};
}

// Appends `text` with quotes, backslashes, control and non-ASCII bytes as \xHH.
void append_escaped(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
}

void append_quoted_or_dash(std::string& out, std::string_view value) {
  out += '"';
  if (value.empty()) {
    out += '-';
  } else {
    append_escaped(out, value);
  }
  out += '"';
}

std::string format_line(const request& req, const response& res, log_format format) {
  std::string line;
  line.reserve(128);
  const net::endpoint& peer = req.remote_endpoint();
  line += peer.empty() ? std::string("-") : peer.address();
  line += " - - ";
  line += log_time_now();
  line += " \"";
  append_escaped(line, req.method_string());
  line += ' ';
  append_escaped(line, req.target());
  line += req.version() == 10 ? " HTTP/1.0\" " : " HTTP/1.1\" ";
  line += std::to_string(static_cast<unsigned>(res.code()));
  line += ' ';
  const std::int64_t size = res.body_size();
  line += size > 0 ? std::to_string(size) : std::string("-");
  if (format == log_format::combined) {
    line += ' ';
    append_quoted_or_dash(line, req.header(field::referer));
    line += ' ';
    append_quoted_or_dash(line, req.header(field::user_agent));
  }
  if (!req.id().empty()) {
    line += " rid=";
    append_escaped(line, req.id());
  }
  return line;
}

}  // namespace

middleware access_log(std::function<void(std::string_view line)> sink, log_format format) {
  return [sink = std::move(sink), format](request& req, const next& rest) {
    response res = rest(req);
    sink(format_line(req, res, format));
    return res;
  };
}

middleware access_log(std::ostream& out, log_format format) {
  auto lock = std::make_shared<balrog::mutex>();
  return access_log(
      [&out, lock](std::string_view line) {
        std::lock_guard guard(*lock);
        out << line << '\n';
        out.flush();
      },
      format);
}

}  // namespace balrog::http::server
