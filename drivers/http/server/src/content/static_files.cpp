#include "balrog/http/server/static_files.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "protocol/http_date.hpp"

namespace balrog::http::server {

namespace {

// O_NONBLOCK: opening a FIFO placed under the root must not hang the fiber (it is refused
// after fstat as not a regular file); it changes nothing for regular files.
constexpr int open_flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

// Opens `relative` (no leading '/') under `root` without ever leaving it: openat2 with
// RESOLVE_BENEATH refuses "..", absolute symbolic links and links that climb out. Before Linux
// 5.6 (ENOSYS), the canonical path is checked against the canonical root instead.
detail::owned_fd open_beneath(const std::filesystem::path& root, const std::string& relative) {
  detail::owned_fd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return {};
  open_how how{};
  how.flags = open_flags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const long fd = ::syscall(SYS_openat2, dir.get(), relative.c_str(), &how, sizeof how);
  if (fd >= 0) return detail::owned_fd(static_cast<int>(fd));
  if (errno != ENOSYS) return {};
  char real_root[PATH_MAX];
  char real_file[PATH_MAX];
  const std::string full = (root / relative).string();
  if (::realpath(root.c_str(), real_root) == nullptr ||
      ::realpath(full.c_str(), real_file) == nullptr) {
    return {};
  }
  const std::string_view r(real_root);
  const std::string_view f(real_file);
  if (f != r && !(f.starts_with(r) && f.size() > r.size() && (r == "/" || f[r.size()] == '/'))) {
    return {};
  }
  return detail::owned_fd(::open(real_file, open_flags));
}

// Refuses what no file name under the root can be: NUL bytes, ".." segments.
bool acceptable(std::string_view relative) {
  if (relative.find('\0') != std::string_view::npos) return false;
  std::string_view rest = relative;
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    if (rest.substr(0, slash) == "..") return false;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return true;
}

std::string etag_of(const struct stat& st) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%llx-%llx%08lx\"", static_cast<unsigned long long>(st.st_size),
                static_cast<unsigned long long>(st.st_mtim.tv_sec),
                static_cast<unsigned long>(st.st_mtim.tv_nsec));
  return buf;
}

// If-None-Match: "*" or a list of entity tags, compared weakly (RFC 9110 §13.1.2).
bool none_match_hits(std::string_view header, std::string_view etag) {
  if (header == "*") return true;
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};
enum class range_kind { whole, partial, unsatisfiable };

std::optional<std::uint64_t> parse_number(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// One "bytes=" range of a file of `size` bytes. Anything else (several ranges, other units,
// syntax errors) is answered with the whole file, as RFC 9110 §14.2 allows.
range_kind parse_range(std::string_view header, std::uint64_t size, byte_range& out) {
  if (!header.starts_with("bytes=")) return range_kind::whole;
  const std::string_view spec = header.substr(6);
  if (spec.find(',') != std::string_view::npos) return range_kind::whole;
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return range_kind::whole;
  const std::string_view a = spec.substr(0, dash);
  const std::string_view b = spec.substr(dash + 1);
  if (a.empty()) {  // "-n": the last n bytes
    const auto n = parse_number(b);
    if (!n) return range_kind::whole;
    if (*n == 0 || size == 0) return range_kind::unsatisfiable;
    out.length = std::min(*n, size);
    out.first = size - out.length;
    return range_kind::partial;
  }
  const auto first = parse_number(a);
  if (!first) return range_kind::whole;
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!b.empty()) {
    const auto l = parse_number(b);
    if (!l || *l < *first) return range_kind::whole;
    last = std::min(*l, last);
  }
  if (*first >= size) return range_kind::unsatisfiable;
  out.first = *first;
  out.length = last - *first + 1;
  return range_kind::partial;
}

response not_found() { return response::text("not found\n", status::not_found); }

}  // namespace

response serve_file(const request& req, const std::filesystem::path& root,
                    std::string_view relative) {
  while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  if (!acceptable(relative)) return not_found();
  std::string name = relative.empty() ? std::string(".") : std::string(relative);
  detail::owned_fd file = open_beneath(root, name);
  struct stat st {};
  if (file.get() < 0 || ::fstat(file.get(), &st) != 0) return not_found();
  if (S_ISDIR(st.st_mode)) {
    name += "/index.html";
    file = open_beneath(root, name);
    if (file.get() < 0 || ::fstat(file.get(), &st) != 0) return not_found();
  }
  if (!S_ISREG(st.st_mode)) return not_found();

  const std::string etag = etag_of(st);
  const std::string last_modified = detail::format_http_date(st.st_mtim.tv_sec);
  const auto size = static_cast<std::uint64_t>(st.st_size);

  const std::string_view if_none_match = req.header(field::if_none_match);
  bool not_modified = false;
  if (!if_none_match.empty()) {
    not_modified = none_match_hits(if_none_match, etag);
  } else if (const auto since = detail::parse_http_date(req.header(field::if_modified_since))) {
    not_modified = st.st_mtim.tv_sec <= *since;
  }
  if (not_modified) {
    response r(status::not_modified);
    r.set(field::etag, etag);
    r.set(field::last_modified, last_modified);
    return r;
  }

  byte_range range{0, size};
  range_kind kind = range_kind::whole;
  const std::string_view range_header = req.header(field::range);
  if (!range_header.empty()) {
    const std::string_view if_range = req.header(field::if_range);
    if (if_range.empty() || if_range == etag || if_range == last_modified) {
      kind = parse_range(range_header, size, range);
    }
  }
  if (kind == range_kind::unsatisfiable) {
    response r = response::text("range not satisfiable\n", status::range_not_satisfiable);
    r.set(field::content_range, "bytes */" + std::to_string(size));
    return r;
  }
  const std::string_view type = content_type_for(name);
  response r = kind == range_kind::partial ? response::file(file.get(), range.first, range.length,
                                                            type, status::partial_content)
                                           : response::file(file.get(), 0, size, type);
  (void)file.release();
  if (kind == range_kind::partial) {
    r.set(field::content_range, "bytes " + std::to_string(range.first) + "-" +
                                    std::to_string(range.first + range.length - 1) + "/" +
                                    std::to_string(size));
  }
  r.set(field::accept_ranges, "bytes");
  r.set(field::etag, etag);
  r.set(field::last_modified, last_modified);
  return r;
}

}  // namespace balrog::http::server
